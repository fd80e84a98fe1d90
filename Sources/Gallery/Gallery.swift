// Gallery module
