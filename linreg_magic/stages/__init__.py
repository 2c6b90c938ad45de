"""The built-in ladder, one teaching file per stage, in order:

numpy -> tensors -> autograd -> optimizer -> loss -> module -> nested -> sequential

Each file's code follows chapter 1 of "Deep Learning with PyTorch Step-by-Step";
the code view shows these files as they are, and the diff view compares them.
"""
