# %%linreg --stage loss --device cpu --epochs 100
# expect: correct
import torch.nn.functional as F

for epoch in range(n_epochs):
    loss = F.mse_loss(b + w * x_train_tensor, y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
