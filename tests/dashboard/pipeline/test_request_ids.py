"""Generated request ids stay unique across the forked workers of a host."""

from __future__ import annotations

import multiprocessing

from dashboard import contract


def _generated_in_child(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue.put([contract.request_id({}) for _ in range(3)])


def test_a_forked_worker_draws_its_own_prefix() -> None:
    parent = [contract.request_id({}) for _ in range(3)]
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [context.Process(target=_generated_in_child, args=(queue,)) for _ in range(2)]
    for child in children:
        child.start()
    seen = [queue.get(timeout=60) for _ in children]
    for child in children:
        child.join(60)
    prefixes = {rid.rsplit("-", 1)[0] for rid in parent + seen[0] + seen[1]}
    assert len(prefixes) == 3, prefixes
    assert len(set(parent + seen[0] + seen[1])) == 9


def test_ids_are_the_prefix_and_the_counter_in_hex_across_blocks() -> None:
    ids = contract._RequestIds()
    drawn = [next(ids.ids) for _ in range(3 * 4096 + 5)]  # three blocks' ends and beyond
    assert drawn == [f"{ids.prefix}{counter:x}" for counter in range(1, len(drawn) + 1)]
    assert len(set(drawn)) == len(drawn)
    assert all(contract._SAFE_REQUEST_ID.match(rid) for rid in drawn[::97])
