"""The lessons' cells: one teaching file per lesson, read and run by
:mod:`linreg_magic.lessons.notebook`.  Like the stages' files they follow the book's
code; each function is one cell (its docstring the explanation, its body the code)."""
