# %%linreg --stage tensors --device cpu --lr 0.05 --epochs 100
# expect: note: own_lr
# the book's settings, while the line asks for --lr 0.05 --epochs 100
lr = 0.1
n_epochs = 1000
for epoch in range(n_epochs):
    error = b + w * x_train_tensor - y_train_tensor
    b = b - lr * 2 * error.mean()
    w = w - lr * 2 * (x_train_tensor * error).mean()
