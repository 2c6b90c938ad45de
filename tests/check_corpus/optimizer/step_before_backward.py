# %%linreg --stage optimizer --device cpu --epochs 100
# expect: not yet: dynamics
# steps with the previous epoch's gradients: one epoch late
for epoch in range(n_epochs):
    optimizer.step()
    optimizer.zero_grad()
    loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
    loss.backward()
