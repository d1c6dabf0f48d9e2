#!/usr/bin/env python3
"""Downloads the official ACE-Step 1.5 checkpoints from the Hugging Face Hub
(or a mirror of it) into CHECKPOINT_DIR, verifying every file, idempotently.

Environment:
  HF_REPOS        space-separated repos, each `owner/name[@revision]`
                  (default: ACE-Step/Ace-Step1.5@main)
  HF_ENDPOINT     the Hub or a mirror with the same API (default https://huggingface.co)
  HF_TOKEN        a read token (from a Secret); HF_TOKEN_FILE reads it from a file instead
  CHECKPOINT_DIR  where the files go (default /models/.checkpoints)

Every file of a repo revision is listed with the Hub API
(`/api/models/<repo>/tree/<rev>?recursive=true`), which gives each file's
hash: the sha256 of LFS files (the weights) and the git blob sha1 of the
others. A file already present with the right hash is kept; anything else is
downloaded to `<name>.part`, checked, and renamed into place, so an
interrupted run leaves no half file under a real name and a rerun only fetches
what is missing. Any mismatch stops the run (exit 1) naming the file.
Written with the standard library only: it runs in the exporter image.
"""

import hashlib
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

CHUNK = 1 << 20


def fail(message):
    print(f"fetch-checkpoints: {message}", file=sys.stderr)
    sys.exit(1)


def token():
    path = os.environ.get("HF_TOKEN_FILE", "")
    if path:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    return os.environ.get("HF_TOKEN", "").strip()


def request(url, auth):
    headers = {"User-Agent": "acestep-fetch-checkpoints/1"}
    if auth:
        headers["Authorization"] = f"Bearer {auth}"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60)
    except urllib.error.HTTPError as error:
        hint = " (set HF_TOKEN: the repo is gated or private)" if error.code in (401, 403) else ""
        fail(f"GET {url}: HTTP {error.code}{hint}")
    except urllib.error.URLError as error:
        fail(f"GET {url}: {error.reason}")


def next_link(response):
    """The Hub pages long listings with an RFC 8288 `Link: <...>; rel="next"` header."""
    for part in (response.headers.get("Link") or "").split(","):
        if 'rel="next"' in part:
            return part.split(";")[0].strip().strip("<>")
    return None


def list_files(endpoint, repo, revision, auth):
    url = f"{endpoint}/api/models/{repo}/tree/{urllib.parse.quote(revision, safe='')}?recursive=true"
    files = []
    while url:
        with request(url, auth) as response:
            entries = json.load(response)
            url = next_link(response)
        for entry in entries:
            if entry.get("type") != "file":
                continue
            lfs = entry.get("lfs")
            files.append(
                {
                    "path": entry["path"],
                    "size": int(lfs["size"] if lfs else entry["size"]),
                    # LFS: sha256 of the content; otherwise the git blob id (sha1 of "blob <size>\0" + content).
                    "kind": "sha256" if lfs else "git-sha1",
                    "hash": lfs["oid"] if lfs else entry["oid"],
                }
            )
    return files


def digest(path, kind, size):
    h = hashlib.sha256() if kind == "sha256" else hashlib.sha1()
    if kind == "git-sha1":
        h.update(f"blob {size}\0".encode())
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def present(path, entry):
    return (
        os.path.isfile(path)
        and os.path.getsize(path) == entry["size"]
        and digest(path, entry["kind"], entry["size"]) == entry["hash"]
    )


def safe_join(root, relative):
    target = os.path.realpath(os.path.join(root, relative))
    if not target.startswith(os.path.realpath(root) + os.sep):
        fail(f"refusing path outside the checkpoint directory: {relative!r}")
    return target


def fetch(endpoint, repo, revision, entry, dest, auth):
    partial = dest + ".part"
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    url = f"{endpoint}/{repo}/resolve/{urllib.parse.quote(revision, safe='')}/{urllib.parse.quote(entry['path'])}"
    with request(url, auth) as response, open(partial, "wb") as out:
        while chunk := response.read(CHUNK):
            out.write(chunk)
    got = digest(partial, entry["kind"], entry["size"])
    size = os.path.getsize(partial)
    if size != entry["size"] or got != entry["hash"]:
        os.remove(partial)
        fail(
            f"{repo}/{entry['path']}: {entry['kind']} {got} ({size} bytes) does not match the Hub's "
            f"{entry['hash']} ({entry['size']} bytes); nothing was kept"
        )
    os.replace(partial, dest)


def main():
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    root = os.environ.get("CHECKPOINT_DIR", "/models/.checkpoints")
    repos = os.environ.get("HF_REPOS", "ACE-Step/Ace-Step1.5@main").split()
    auth = token()
    if not endpoint.startswith(("http://", "https://")):
        fail(f"HF_ENDPOINT={endpoint!r} must be an http(s) URL")
    os.makedirs(root, exist_ok=True)
    fetched = kept = 0
    for spec in repos:
        repo, _, revision = spec.partition("@")
        revision = revision or "main"
        if repo.count("/") != 1:
            fail(f"HF_REPOS entry {spec!r} must look like owner/name[@revision]")
        for entry in list_files(endpoint, repo, revision, auth):
            dest = safe_join(root, entry["path"])
            if present(dest, entry):
                kept += 1
                continue
            print(f"fetching {repo}/{entry['path']} ({entry['size']} bytes)", flush=True)
            fetch(endpoint, repo, revision, entry, dest, auth)
            fetched += 1
    print(f"checkpoints ready in {root}: {fetched} fetched, {kept} already present, all verified", flush=True)


if __name__ == "__main__":
    main()
