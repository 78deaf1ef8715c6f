#!/usr/bin/env python3
"""Which tables and indexes the last writes' log pages went to (issue #21).

Reads the frames of an SQLite database's write-ahead log (`DB-wal`), groups them into commits,
and names the table or index of each page through SQLite's `dbstat`, on a copy of the database
and its log (the gateway's files are only read). Every page a commit touches is written to the log
whole, so the count per table and index is what a write costs in log (and later checkpoint) bytes.

Run it right after the writes to look at, with the gateway idle: the checkpoint thread copies an
idle log into the database, and the next write starts the log over from its beginning, so after
one lone write (a `curl` POST) the log holds that write's commit alone.

    python3 benches/wrk/log_pages.py DB [--last N]
"""

import argparse
import collections
import os
import shutil
import sqlite3
import struct
import sys
import tempfile

WAL_HEADER = 32
FRAME_HEADER = 24


def commits_in_log(wal_path):
    """The page numbers of each commit in the log, oldest first (frames of the log's current
    salt only: frames left from before the log started over are not part of it)."""
    with open(wal_path, "rb") as wal:
        data = wal.read()
    if len(data) < WAL_HEADER:
        return []
    page_size = struct.unpack(">I", data[8:12])[0]
    salt = data[16:24]
    commits, pages, offset = [], [], WAL_HEADER
    while offset + FRAME_HEADER + page_size <= len(data):
        page, database_size = struct.unpack(">II", data[offset:offset + 8])
        if data[offset + 8:offset + 16] != salt:
            break
        pages.append(page)
        if database_size:  # the last frame of a commit carries the database's size
            commits.append(pages)
            pages = []
        offset += FRAME_HEADER + page_size
    return commits


def page_owners(db_path):
    """Each page number's table or index, read from a copy of the database and its log."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = os.path.join(scratch, "copy.db")
        shutil.copyfile(db_path, copy)
        shutil.copyfile(db_path + "-wal", copy + "-wal")
        conn = sqlite3.connect(copy)
        try:
            return dict(conn.execute("SELECT pageno, name FROM dbstat"))
        finally:
            conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db", help="the database file (its log is DB-wal)")
    parser.add_argument("--last", type=int, default=5, help="commits to list (default 5)")
    args = parser.parse_args()
    commits = commits_in_log(args.db + "-wal")
    if not commits:
        sys.exit("the log holds no commit (was the gateway written to since it last started over?)")
    owners = page_owners(args.db)
    shown = commits[-args.last:]
    total = collections.Counter()
    for number, pages in enumerate(shown, start=len(commits) - len(shown) + 1):
        by_owner = collections.Counter(owners.get(page, "(freed)") for page in pages)
        total.update(by_owner)
        print(f"commit {number}: {len(pages)} pages")
        for owner, count in sorted(by_owner.items()):
            print(f"  {count:4d}  {owner}")
    if len(shown) > 1:
        print(f"all {len(shown)} commits: {sum(total.values())} pages")
        for owner, count in total.most_common():
            print(f"  {count:4d}  {owner}")


if __name__ == "__main__":
    main()
