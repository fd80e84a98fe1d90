// Diffusion module
