"""The same grade command on a PostgreSQL gradebook and on a Dask cluster."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from helpers import COHORT, gradebook_rows, make_course

from lrcourse.grade import grade

pytestmark = pytest.mark.slow  # not in the fast lane: PostgreSQL and Dask


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="module")
def postgres_url():
    """A real PostgreSQL server on 127.0.0.1, started for these tests and stopped after."""
    bindir = postgres_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: .ci/run installs it (apt-get install postgresql)")
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    data = Path(tempfile.mkdtemp(prefix="lrcourse-pg-"))  # outside pytest's root-only tmp dirs
    run_as = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        shutil.chown(data, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data / "db"), "--auth=trust", "-U", "grader"],
                   check=True, capture_output=True)
    subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data / "db"), "-l", str(data / "log"), "-w",
                    "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1", "start"], check=True,
                   capture_output=True)
    try:
        subprocess.run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "grader",
                        "gradebook"], check=True, capture_output=True)
        yield f"postgresql+psycopg2://grader@127.0.0.1:{port}/gradebook"
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data / "db"), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def sqlite_reference(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("sqlite") / "course", COHORT)
    report = grade(root=str(course.root), workers=2, progress=False)
    assert not report.failed
    return gradebook_rows(course)


def test_grade_works_the_same_on_a_postgresql_gradebook(postgres_url, sqlite_reference, tmp_path, monkeypatch):
    monkeypatch.setenv("LRCOURSE_DB_URL", postgres_url)
    course = make_course(tmp_path / "course", COHORT)
    assert course.db_url == postgres_url
    report = grade(root=str(course.root), workers=2, progress=False)
    assert not report.failed and len(report.graded) == len(COHORT)
    assert not (course.root / "gradebook.db").exists(), "grades went to SQLite instead of PostgreSQL"
    assert gradebook_rows(course) == sqlite_reference
    again = grade(root=str(course.root), workers=2, progress=False)
    assert sorted(again.skipped) == sorted(COHORT)


def test_grade_runs_notebooks_on_a_dask_cluster_with_the_same_results(sqlite_reference, tmp_path):
    from distributed import LocalCluster

    course = make_course(tmp_path / "course", COHORT)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        report = grade(root=str(course.root), scheduler=cluster.scheduler_address, progress=False)
        with cluster.get_client() as client:
            assert len(client.scheduler_info()["workers"]) == 2
    assert not report.failed and len(report.graded) == len(COHORT)
    assert gradebook_rows(course) == sqlite_reference
