"""The discriminator's FIFO replay: wrap-around overwrite order, sampling only the filled
part (MimicKit: a permutation read in order, modulo the filled count), state round trip.
The push schedule (all until full, then disc_replay_samples) is the learner's:
test_amp_agent.py."""

from __future__ import annotations

import torch

from mjmimic.agents.replay_buffer import ReplayBuffer


def _rows(start: int, n: int) -> dict[str, torch.Tensor]:
    values = torch.arange(start, start + n, dtype=torch.float32)
    return {"a": values[:, None], "b": torch.stack([values, -values], -1)}


def test_push_overwrites_the_oldest_rows_first():
    buf = ReplayBuffer(5, {"a": (1,), "b": (2,)})
    buf.push(_rows(0, 3))
    assert (buf.filled, buf.full, buf.head) == (3, False, 3)
    buf.push(_rows(3, 4))  # 3, 4 fill the end; 5, 6 overwrite 0, 1
    assert buf["a"][:, 0].tolist() == [5, 6, 2, 3, 4]
    assert buf["b"][:, 1].tolist() == [-5, -6, -2, -3, -4]  # names stay row-aligned
    assert (buf.filled, buf.full, buf.head, buf.pushed) == (5, True, 2, 7)
    buf.push(_rows(7, 1))
    assert buf["a"][:, 0].tolist() == [5, 6, 7, 3, 4]


def test_a_push_larger_than_the_capacity_keeps_its_last_rows():
    buf = ReplayBuffer(4, {"a": (1,), "b": (2,)})
    buf.push(_rows(0, 1))
    buf.push(_rows(1, 10))  # as if pushed one by one: 7..10 survive
    assert sorted(buf["a"][:, 0].tolist()) == [7, 8, 9, 10]
    assert buf.head == 11 % 4 and buf["a"][(buf.head - 1) % 4, 0].item() == 10


def test_sample_draws_only_filled_rows_and_covers_them():
    torch.manual_seed(0)
    buf = ReplayBuffer(100, {"a": (1,), "b": (2,)})
    buf.push(_rows(10, 3))
    drawn = buf.sample(300)
    assert set(drawn["a"][:, 0].tolist()) == {10.0, 11.0, 12.0}
    assert torch.equal(drawn["b"][:, 0], drawn["a"][:, 0])  # a row is drawn whole


def test_a_full_buffer_is_sampled_without_replacement_across_calls():
    torch.manual_seed(0)
    buf = ReplayBuffer(8, {"a": (1,), "b": (2,)})
    buf.push(_rows(0, 8))
    seen = torch.cat([buf.sample(3)["a"], buf.sample(5)["a"]])[:, 0]
    assert sorted(seen.tolist()) == list(range(8))
    assert buf.sample(20)["a"].shape == (20, 1)  # more than the capacity: the next permutations
