# %%linreg --stage sequential --device cpu --features 3 --hidden 5 --epochs 100
# expect: correct
class TwoLayers(nn.Module):
    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.hidden = nn.Linear(n_in, n_hidden)
        self.out = nn.Linear(n_hidden, 1)

    def forward(self, x):
        return self.out(self.hidden(x))

torch.manual_seed(42)
model = TwoLayers(n_features, n_hidden).to(device)
optimizer = optim.SGD(model.parameters(), lr=lr)
for epoch in range(n_epochs):
    model.train()
    loss = loss_fn(model(x_train_tensor), y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
