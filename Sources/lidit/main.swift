print("lidit")
