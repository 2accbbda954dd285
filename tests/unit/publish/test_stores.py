"""The store registry (scheme → kind, lazy backends, new kinds registered like built-ins)
and the commit hook of stores that publish by switching a root pointer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from releasekit import article_files, check_consistent, write_release
from test_push_memory import FAST, NOW, mirror, push, reader

from tamizdat.errors import ConfigError, MirrorUnreachableError, UserError
from tamizdat.publish.headers import PUBLISH_STATE
from tamizdat.publish.mirrorlist import mirror_type
from tamizdat.publish.push import publish_release
from tamizdat.publish.stores import (
    BUILTIN_STORES,
    MemoryStore,
    Store,
    StoreKind,
    StoreLimits,
    StoreRequest,
    open_store,
)

TIMESTAMP = ".well-known/tamizdat/metadata/timestamp.json"


# -- the registry ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("file:///srv/www", "file"),
        ("local:///srv/www", "file"),
        ("s3://bucket/site", "s3"),
        ("sftp://deploy@vps.example/srv/www", "sftp"),
        ("ssh://vps.example/srv/www", "sftp"),
        ("webdav://dav.example/site", "webdav"),
        ("webdavs://dav.example/site", "webdav"),
    ],
)
def test_each_scheme_selects_one_builtin_kind(url: str, kind: str) -> None:
    assert BUILTIN_STORES.kind_for(mirror("m", url=url)).name == kind
    assert mirror_type(mirror("m", url=url)) == kind


@pytest.mark.parametrize(
    "url", ["ftp://host/x", "http://host/x", "https://host/x", "memory://x", "s4://b/p"]
)
def test_an_unknown_scheme_is_a_config_error_naming_the_mirror_and_the_forms(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        open_store(mirror("east", url=url))
    assert info.value.where == "mirror east: url"
    assert url in info.value.message
    for example in ("file://", "s3://bucket/prefix", "sftp://", "webdav://"):
        assert example in info.value.message


def test_an_s3_url_without_a_bucket_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="expected s3://bucket/prefix") as info:
        open_store(mirror("s3", url="s3:///site"))
    assert info.value.where == "mirror s3: url"


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [
        ("s3://bucket/site", "s3fs", "s3"),
        ("sftp://vps.example/srv", "paramiko", "sftp"),
        ("webdav://dav.example/site", "webdav4", "webdav"),
    ],
)
def test_a_missing_backend_names_the_extra_to_install(
    url: str, module: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kind = BUILTIN_STORES.kind_for(mirror("m", url=url))
    monkeypatch.delitem(sys.modules, kind.factory.partition(":")[0], raising=False)
    for loaded in [m for m in sys.modules if m == module or m.startswith(f"{module}.")]:
        monkeypatch.delitem(sys.modules, loaded)
    monkeypatch.setitem(sys.modules, module, None)  # "import module" now fails
    with pytest.raises(UserError) as info:
        open_store(mirror("m", url=url))
    assert f"{module} is not installed" in info.value.message
    assert info.value.hint == f"pip install 'tamizdat[{extra}]'"


def test_a_kind_whose_own_module_is_missing_is_a_bug_not_a_missing_extra() -> None:
    broken = BUILTIN_STORES.register(
        StoreKind("ghost", ("ghost",), "tamizdat.publish.stores.ghost:open", "ghost")
    )
    with pytest.raises(ModuleNotFoundError):
        broken.open(mirror("g", url="ghost://x"), limits=StoreLimits())


def test_importing_the_stores_loads_no_storage_backend() -> None:
    code = (
        "import sys, tamizdat.publish.stores, tamizdat.publish.push, tamizdat.cli\n"
        "print(sorted(m for m in ('s3fs', 'paramiko', 'webdav4', 'botocore') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


SHARED = MemoryStore("shared")


def open_shared_memory(request: StoreRequest) -> Store:
    """A new kind's factory, declared by "module:function" exactly like the built-ins."""
    assert request.url.scheme == "mem"
    assert request.limits == StoreLimits()
    return SHARED


def test_a_new_kind_is_registered_like_the_builtins_and_leaves_them_unchanged(
    tmp_path: Path,
) -> None:
    registry = BUILTIN_STORES.register(
        StoreKind("mem", ("mem",), f"{__name__}:open_shared_memory", example="mem://name")
    )
    assert BUILTIN_STORES.find("mem") is None  # registries are values, not a global manager
    assert registry.find("s3") is BUILTIN_STORES.find("s3")
    release = tmp_path / "release"
    write_release(release, 1, article_files(1))
    report = publish_release(
        release,
        [mirror("m", url="mem://m")],
        open_store=lambda m: open_store(m, base_dir=tmp_path, registry=registry),
        retry=FAST,
        now=NOW,
    )
    assert report.mirrors[0].ok, report.mirrors[0].error
    assert check_consistent(reader(SHARED)) == 1


@pytest.mark.parametrize("scheme", ["file", "s3", "ssh", "webdavs"])
def test_a_scheme_cannot_be_claimed_twice(scheme: str) -> None:
    with pytest.raises(ValueError, match=f"scheme {scheme!r} is claimed"):
        BUILTIN_STORES.register(StoreKind("other", (scheme,), "x.y:z"))


def test_a_relative_file_url_resolves_against_the_site_folder(tmp_path: Path) -> None:
    store = open_store(mirror("m", url="file://out/www"), base_dir=tmp_path)
    store.put_bytes("a/b.txt", b"x", content_type="text/plain", cache_control="", atomic=True)
    assert (tmp_path / "out/www/a/b.txt").read_bytes() == b"x"
    assert store.list_sizes() == {"a/b.txt": 1}


# -- the commit hook ---------------------------------------------------------------------


def test_a_pointer_store_shows_nothing_new_until_commit_then_everything_at_once(
    tmp_path: Path,
) -> None:
    release = tmp_path / "release"
    write_release(release, 1, article_files(1, count=6))
    store = MemoryStore("p", staged=True)
    push(release, {"p": store}, tmp_path, max_workers_per_mirror=1)
    assert check_consistent(reader(store)) == 1
    # one commit, after the last upload (the timestamp), and only then is anything visible
    assert store.commits == [len(store.puts)]
    assert store.puts[-1] == TIMESTAMP


def test_a_failed_push_never_commits_and_readers_keep_the_old_release(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_release(release, 1, article_files(1, count=6))
    store = MemoryStore("p", staged=True)
    push(release, {"p": store}, tmp_path)
    before = dict(store.objects)
    write_release(release, 2, article_files(2, count=6, changed=3))
    for fail_after in (1, 4, 9):  # in the by-hash, natural and metadata phases
        store.fail_after_puts = len(store.puts) + fail_after
        report = push(release, {"p": store}, tmp_path, max_workers_per_mirror=1)
        assert not report.mirrors[0].ok
        assert len(store.commits) == 1, "a failed push committed"
        assert store.objects == before, "a reader saw part of release 2"
    store.fail_after_puts = None
    report = push(release, {"p": store}, tmp_path)
    assert report.mirrors[0].ok, report.mirrors[0].error
    assert check_consistent(reader(store)) == 2
    assert len(store.commits) == 2


def test_old_files_are_deleted_only_after_the_commit(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_release(release, 1, article_files(1, count=3))
    store = MemoryStore("p", staged=True)
    push(release, {"p": store}, tmp_path)

    seen_at_delete: list[int] = []

    class Watching(MemoryStore):
        def _delete(self, paths: list[str]) -> None:
            seen_at_delete.append(len(self.commits))
            super()._delete(paths)

    watching = Watching("p", staged=True)
    watching.objects = dict(store.objects)
    write_release(release, 2, article_files(2, count=2))  # one natural page goes away
    report = push(release, {"p": watching}, tmp_path)
    assert report.mirrors[0].ok, report.mirrors[0].error
    assert watching.deletes
    assert seen_at_delete == [1]
    assert "articles/002/index.html" not in watching.objects
    assert check_consistent(reader(watching)) == 2


def test_a_commit_failing_once_is_retried_and_failing_always_fails_only_that_mirror(
    tmp_path: Path,
) -> None:
    class Stubborn(MemoryStore):
        def __init__(self, name: str, failures: int) -> None:
            super().__init__(name, staged=True)
            self.failures = failures

        def _commit(self) -> None:
            if self.failures:
                self.failures -= 1
                raise ConnectionError("pointer update lost")
            super()._commit()

    release = tmp_path / "release"
    write_release(release, 1, article_files(1))
    flaky, dead, plain = Stubborn("flaky", 1), Stubborn("dead", 99), MemoryStore("plain")
    report = push(release, {"flaky": flaky, "dead": dead, "plain": plain}, tmp_path)
    assert [m.name for m in report.failed] == ["dead"]
    assert "commit" in (report.failed[0].error or "")
    assert "mirror dead" in (report.failed[0].error or "")
    assert dead.objects == {}
    assert check_consistent(reader(flaky)) == 1
    assert check_consistent(reader(plain)) == 1
    assert PUBLISH_STATE in plain.objects


def test_commit_errors_are_tamizdat_errors_naming_the_mirror() -> None:
    class Broken(MemoryStore):
        def _commit(self) -> None:
            raise TimeoutError("no answer")

    with pytest.raises(MirrorUnreachableError) as info:
        Broken("b").commit()
    assert info.value.where == "mirror b"
