"""A fake `modal` package for crabbox's tests, put on PYTHONPATH in place of the real one.

It implements only the calls crabbox's helper makes (App.lookup, Image.from_registry,
Sandbox.create/from_id/list, exec, filesystem.copy_from_local, tags, poll, terminate,
detach), with the real signatures' keyword names. Each sandbox is a directory under
$FAKE_MODAL_ROOT/sandboxes/<id>: `state.json` and `fs/`, the sandbox's "/". Exec runs a
local process whose absolute paths under the usual sandbox roots (/workspace, /tmp, ...)
are mapped into `fs/`, with a clean environment (nothing of the caller's leaks in).

Every import appends the process's full argv to $FAKE_MODAL_ROOT/calls.jsonl, so tests
can prove what a local `ps` would have shown. $FAKE_MODAL_FAULTS (comma list) injects
failures:

  auth                    every call raises AuthError
  create, upload, terminate, exec, list, lookup, from_id
                          that call raises modal.exception.Error before doing anything
  create-no-tags-kwarg    Sandbox.create(tags=...) raises TypeError (an old client)
  create-lost-answer      Sandbox.create makes the sandbox, then raises (the answer was lost)
  create-typeerror-after  Sandbox.create makes the sandbox, then raises an unrelated TypeError
  create-token-text       Sandbox.create raises a plain Error whose message says "token"
  set-tags                Sandbox.set_tags raises
  get-tags                Sandbox.get_tags raises
  poll                    Sandbox.poll raises
  terminate-not-found     Sandbox.terminate raises a NotFoundError that is not about the sandbox
  terminate-404           Sandbox.terminate raises a plain Error that says "404 not found"
  exec-stream             the exec's stdout breaks after its first chunk
  exec-no-status          the exec's wait() answers None instead of an exit status
"""
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time

from . import exception
from .exception import AuthError, InvalidError, NotFoundError

__version__ = "1.5.4+crabbox.fake"

ROOT = os.environ["FAKE_MODAL_ROOT"]
FAULTS = set(filter(None, os.environ.get("FAKE_MODAL_FAULTS", "").split(",")))
SANDBOX_TOPS = ("workspace", "tmp", "root", "home", "srv", "opt", "mnt", "data", "work")


def _log(entry):
    with open(os.path.join(ROOT, "calls.jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")


_log({
    "kind": "process",
    "argv": list(getattr(sys, "orig_argv", sys.argv)),
    "tokenInEnv": bool(os.environ.get("MODAL_TOKEN_SECRET")),
})


def _check(operation):
    if "auth" in FAULTS:
        raise AuthError("Token missing. Could not authenticate client.")
    if operation in FAULTS:
        raise exception.Error("injected %s failure" % operation)


def _sandbox_dir(sandbox_id):
    return os.path.join(ROOT, "sandboxes", sandbox_id)


class App:
    def __init__(self, name, app_id):
        self.name = name
        self.app_id = app_id

    @staticmethod
    def lookup(name, *, client=None, environment_name=None, create_if_missing=False):
        _check("lookup")
        path = os.path.join(ROOT, "apps.json")
        apps = json.load(open(path)) if os.path.exists(path) else {}
        if name not in apps:
            if not create_if_missing:
                raise NotFoundError("App '%s' not found" % name)
            apps[name] = "ap-" + secrets.token_hex(8)
            with open(path, "w") as f:
                json.dump(apps, f)
            _log({"kind": "app-created", "name": name})
        return App(name, apps[name])


class Image:
    def __init__(self, tag):
        self.tag = tag

    @staticmethod
    def from_registry(tag, secret=None, *, setup_dockerfile_commands=(), force_build=False, add_python=None, **kwargs):
        return Image(tag)


class _Reader:
    """Iterates a pipe in chunks as they arrive, like modal's StreamReader."""

    def __init__(self, pipe, text, fail_after_first=False):
        self._pipe = pipe
        self._text = text
        self._fail = fail_after_first

    def __iter__(self):
        fd = self._pipe.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            yield chunk.decode("utf-8", "replace") if self._text else chunk
            if self._fail:
                raise exception.Error("injected stream failure")


class ContainerProcess:
    def __init__(self, popen, text, timeout):
        self._popen = popen
        self._timeout = timeout
        self.stdout = _Reader(popen.stdout, text, "exec-stream" in FAULTS)
        self.stderr = _Reader(popen.stderr, text)

    def wait(self):
        if "exec-no-status" in FAULTS:
            self._popen.wait()
            return None
        try:
            return self._popen.wait(timeout=self._timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self._popen.pid, signal.SIGKILL)
            self._popen.wait()
            return -1  # what modal reports when the exec deadline passes

    def poll(self):
        return self._popen.poll()


class _Filesystem:
    def __init__(self, sandbox):
        self._sandbox = sandbox

    def make_directory(self, remote_path, *, create_parents=True):
        os.makedirs(self._sandbox._host(remote_path), exist_ok=True)

    def copy_from_local(self, local_path, remote_path):
        _check("upload")
        if not remote_path.startswith("/"):
            raise InvalidError("remote_path must be absolute")
        target = self._sandbox._host(remote_path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(local_path, target)
        _log({"kind": "upload", "sandbox": self._sandbox.object_id, "remote": remote_path, "size": os.path.getsize(target)})


class Sandbox:
    def __init__(self, sandbox_id):
        self.object_id = sandbox_id
        self._detached = False
        self.filesystem = _Filesystem(self)

    # state on disk

    def _state_path(self):
        return os.path.join(_sandbox_dir(self.object_id), "state.json")

    def _state(self):
        if self._detached:
            raise exception.Error("sandbox object used after detach()")
        with open(self._state_path()) as f:
            return json.load(f)

    def _save(self, state):
        with open(self._state_path(), "w") as f:
            json.dump(state, f)

    def _root(self):
        return os.path.join(_sandbox_dir(self.object_id), "fs")

    def _host(self, remote_path):
        return self._root() + os.path.normpath("/" + remote_path)

    def _map_text(self, text):
        tops = set(SANDBOX_TOPS)
        workdir = self._state().get("workdir") or ""
        if workdir.strip("/"):
            tops.add(workdir.strip("/").split("/")[0])
        pattern = r"(?<![\w./-])/(%s)(?=/|$|[^\w.-])" % "|".join(re.escape(t) for t in sorted(tops))
        return re.sub(pattern, lambda m: self._root() + m.group(0), text)

    # the modal API

    @staticmethod
    def create(*args, app=None, name=None, tags=None, image=None, timeout=300, workdir=None, **kwargs):
        _check("create")
        if "create-token-text" in FAULTS:
            raise exception.Error("image pull failed: the registry refused the token for python:3.13-slim")
        if tags is not None and "create-no-tags-kwarg" in FAULTS:
            raise TypeError("create() got an unexpected keyword argument 'tags'")
        if not isinstance(app, App):
            raise InvalidError("Sandbox.create needs an App")
        if workdir is not None and not workdir.startswith("/"):
            raise InvalidError("workdir must be an absolute path")
        sandbox_id = "sb-" + secrets.token_hex(11)
        os.makedirs(os.path.join(_sandbox_dir(sandbox_id), "fs"))
        sb = Sandbox(sandbox_id)
        sb._save({
            "id": sandbox_id, "app_id": app.app_id, "image": image.tag if image else None,
            "timeout": timeout, "workdir": workdir, "tags": dict(tags or {}),
            "created": time.time(), "terminated": False,
        })
        if workdir:
            os.makedirs(sb._host(workdir), exist_ok=True)
        _log({"kind": "create", "sandbox": sandbox_id, "timeout": timeout, "workdir": workdir,
              "image": image.tag if image else None, "tagsAtCreate": tags is not None})
        if "create-lost-answer" in FAULTS:
            raise exception.Error("injected: the connection dropped after the create went through")
        if "create-typeerror-after" in FAULTS:
            raise TypeError("'NoneType' object is not subscriptable")
        return sb

    @staticmethod
    def from_id(sandbox_id, client=None):
        _check("from_id")
        if not os.path.exists(os.path.join(_sandbox_dir(sandbox_id), "state.json")):
            raise NotFoundError("Sandbox with id %s not found" % sandbox_id)
        return Sandbox(sandbox_id)

    @staticmethod
    def list(*, app_id=None, tags=None, client=None):
        _check("list")
        base = os.path.join(ROOT, "sandboxes")
        for sandbox_id in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            sb = Sandbox(sandbox_id)
            state = sb._state()
            if app_id is not None and state["app_id"] != app_id:
                continue
            if any(state["tags"].get(k) != v for k, v in (tags or {}).items()):
                continue
            if not sb._finished():
                yield sb

    def get_tags(self):
        if "get-tags" in FAULTS:
            raise exception.Error("injected get_tags failure")
        return dict(self._state()["tags"])

    def set_tags(self, tags, *, client=None):
        if "set-tags" in FAULTS:
            raise exception.Error("injected set_tags failure")
        state = self._state()
        state["tags"] = dict(tags)
        self._save(state)

    def _finished(self):
        state = self._state()
        return state["terminated"] or time.time() > state["created"] + state["timeout"]

    def poll(self):
        if "poll" in FAULTS:
            raise exception.Error("injected poll failure")
        return 0 if self._finished() else None

    def terminate(self, *, wait=False):
        _check("terminate")
        if "terminate-not-found" in FAULTS:
            raise NotFoundError("Environment 'dev' not found")
        if "terminate-404" in FAULTS:
            raise exception.Error("HTTP 404 not found from the proxy")
        state = self._state()
        state["terminated"] = True
        self._save(state)
        _log({"kind": "terminate", "sandbox": self.object_id})

    def detach(self):
        self._detached = True

    def exec(self, *args, stdout=None, stderr=None, timeout=None, workdir=None, env=None, secrets=None,
             text=True, bufsize=-1, pty=False):
        _check("exec")
        if self._finished():
            raise exception.Error("Sandbox %s has already finished" % self.object_id)
        if not all(isinstance(a, str) for a in args):
            raise InvalidError("exec arguments must be strings")
        state = self._state()
        cwd = self._host(workdir or state.get("workdir") or "/")
        if not os.path.isdir(cwd):
            cwd = self._root()
        root = self._root()
        for top in ("tmp", "root"):
            os.makedirs(os.path.join(root, top), exist_ok=True)
        child_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.path.join(root, "root"),
            "TMPDIR": os.path.join(root, "tmp"),
            "LANG": "C.UTF-8",
            "FAKE_MODAL_SANDBOX_ROOT": root,
        }
        child_env.update(env or {})
        _log({"kind": "exec", "sandbox": self.object_id, "argv": list(args), "timeout": timeout})
        popen = subprocess.Popen(
            [self._map_text(a) for a in args], cwd=cwd, env=child_env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
        return ContainerProcess(popen, text, timeout)
