# %%linreg --stage nested --device cpu --epochs 100
# expect: correct
class Wrapper(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(in_features=1, out_features=1)

    def forward(self, inputs):
        out = self.layer(inputs)
        return out

torch.manual_seed(42)
model = Wrapper().to(device)
optimizer = optim.SGD(model.parameters(), lr=lr)
for epoch in range(n_epochs):
    model.train()
    loss = loss_fn(model(x_train_tensor), y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
