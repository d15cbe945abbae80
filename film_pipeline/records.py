"""Reading the instance's event records: every materialization of an asset, oldest first, paged
(Dagster returns at most 10,000 records per call)."""

from collections.abc import Iterator

import dagster as dg

PAGE = 5_000


def materializations(instance: dg.DagsterInstance, key: dg.AssetKey) -> Iterator:
    cursor = None
    while True:
        page = instance.fetch_materializations(key, limit=PAGE, cursor=cursor, ascending=True)
        yield from page.records
        if not page.has_more:
            return
        cursor = page.cursor
