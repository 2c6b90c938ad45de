# %%linreg --stage autograd --device cpu --epochs 100
# expect: correct
import torch.nn.functional as F

for epoch in range(n_epochs):
    loss = F.mse_loss(b + w * x_train_tensor, y_train_tensor)
    loss.backward()
    with torch.no_grad():
        b -= lr * b.grad
        w -= lr * w.grad
        b.grad.zero_()
        w.grad.zero_()
