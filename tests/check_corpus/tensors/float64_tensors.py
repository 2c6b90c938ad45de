# %%linreg --stage tensors --device cpu --epochs 100
# expect: correct
# as_tensor keeps numpy's float64: the same steps, in double precision
x64 = torch.as_tensor(x_train).to(device)
y64 = torch.as_tensor(y_train).to(device)
b, w = b.double(), w.double()
for epoch in range(n_epochs):
    error = b + w * x64 - y64
    b = b - lr * 2 * error.mean()
    w = w - lr * 2 * (x64 * error).mean()
