// Shapes module
