import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    # One thread: the learning tests' numbers then do not depend on how many cores the machine has.
    torch.set_num_threads(1)
