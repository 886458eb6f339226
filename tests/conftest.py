import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    # Tests run side by side with nothing else to gain from threads on small tensors.
    torch.set_num_threads(1)
