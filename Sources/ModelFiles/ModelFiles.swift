// ModelFiles module
