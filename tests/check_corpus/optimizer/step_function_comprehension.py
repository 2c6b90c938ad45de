# %%linreg --stage optimizer --device cpu --epochs 100
# expect: correct
# one training step as a function, its epochs as a list comprehension
def train_step(x, y):
    loss = ((b + w * x - y) ** 2).mean()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()

losses = [train_step(x_train_tensor, y_train_tensor) for _ in range(n_epochs)]
