"""PyTorch twin of LI-DiT Studio's network: the studio's model files in and out, torchrun training."""
from .modelfile import ModelFile, layout, layout_fingerprint, read_safetensors, write_model_file, write_safetensors
from .model import LIDiT, flat_parameters, load_flat, prediction_loss, noisy_images

__all__ = ["ModelFile", "layout", "layout_fingerprint", "read_safetensors", "write_model_file", "write_safetensors",
           "LIDiT", "flat_parameters", "load_flat", "prediction_loss", "noisy_images"]
