// NeuralLayers module
