"""crabbox's bridge to the local Modal Python client.

One process per operation. The request is one JSON object on stdin, so neither the
user's command nor anything secret appears on a process argv. The answer is JSON
lines on stdout, one event per line:

  {"event": "stdout", "data": "<base64>"}   remote output, while it arrives (exec)
  {"event": "stderr", "data": "<base64>"}
  {"event": "exit", "code": N}              the remote exit status (exec; -1: exec deadline)
  {"event": "result", "value": ...}         the answer of create/get/list/upload/terminate
  {"event": "error", "kind": K, "message": M}

Anything the modal library prints goes to stderr: fd 1 is taken over for events.
Credentials are the client's own (MODAL_TOKEN_ID/MODAL_TOKEN_SECRET in the inherited
environment, or ~/.modal.toml); this script never reads them.
"""
import base64
import json
import os
import sys
import threading

_events = os.fdopen(os.dup(1), "w", encoding="ascii")
os.dup2(2, 1)
sys.stdout = sys.stderr
_lock = threading.Lock()


def emit(event):
    line = json.dumps(event, sort_keys=True)
    with _lock:
        _events.write(line + "\n")
        _events.flush()


class Failure(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


def classify(exc):
    name = type(exc).__name__
    text = str(exc).lower()
    if isinstance(exc, Failure):
        return exc.kind
    if name == "NotFoundError" or "not found" in text or "404" in text:
        return "not-found"
    if name in ("AuthError", "Unauthenticated", "PermissionDenied") or "token" in text:
        return "auth"
    return "transport"


def sandbox_id(sb):
    return getattr(sb, "object_id", None) or getattr(sb, "sandbox_id", "")


def sandbox_tags(sb):
    try:
        return dict(sb.get_tags() or {})
    except Exception:
        return {}


def sandbox_status(sb):
    try:
        return "running" if sb.poll() is None else "finished"
    except Exception:
        return "running"


def sandbox_json(sb):
    return {"id": sandbox_id(sb), "status": sandbox_status(sb), "tags": sandbox_tags(sb)}


def detach(sb):
    try:
        sb.detach()
    except Exception:
        pass


def op_create(modal, req):
    app = modal.App.lookup(req["app"], create_if_missing=True)
    image = modal.Image.from_registry(req["image"])
    options = {"app": app, "image": image, "timeout": int(req["timeout_seconds"]), "workdir": req["workdir"]}
    tags = dict(req.get("tags") or {})
    try:
        # tags at create (modal >= 1.4.3): the sandbox is never visible untagged
        sb = modal.Sandbox.create(tags=tags, **options)
    except TypeError:
        sb = modal.Sandbox.create(**options)
        sb.set_tags(tags)
    value = {"id": sandbox_id(sb), "status": "running", "tags": tags}
    detach(sb)
    return value


def op_get(modal, req):
    sb = modal.Sandbox.from_id(req["sandbox_id"])
    value = sandbox_json(sb)
    detach(sb)
    return value


def op_list(modal, req):
    try:
        app = modal.App.lookup(req["app"], create_if_missing=False)
    except Exception as exc:
        if classify(exc) == "not-found":
            return []
        raise
    return [sandbox_json(sb) for sb in modal.Sandbox.list(app_id=app.app_id, tags=dict(req.get("tags") or {}))]


def op_upload(modal, req):
    sb = modal.Sandbox.from_id(req["sandbox_id"])
    filesystem = getattr(sb, "filesystem", None)
    if filesystem is None:
        raise Failure("missing-client", "this modal client has no Sandbox.filesystem; crabbox needs modal>=1.4.0 (pip install -U modal)")
    filesystem.copy_from_local(req["local_path"], req["remote_path"])
    detach(sb)
    return None


def copy_stream(source, name, errors):
    try:
        for chunk in source:
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8")
            if chunk:
                emit({"event": name, "data": base64.b64encode(chunk).decode("ascii")})
    except Exception as exc:
        errors.append("%s copy failed: %s" % (name, exc))


def op_exec(modal, req):
    sb = modal.Sandbox.from_id(req["sandbox_id"])
    options = {"text": False}
    if int(req.get("timeout_seconds") or 0) > 0:
        options["timeout"] = int(req["timeout_seconds"])
    proc = sb.exec(*req["argv"], **options)
    errors = []
    threads = [
        threading.Thread(target=copy_stream, args=(proc.stdout, "stdout", errors), daemon=True),
        threading.Thread(target=copy_stream, args=(proc.stderr, "stderr", errors), daemon=True),
    ]
    for thread in threads:
        thread.start()
    code = proc.wait()
    for thread in threads:
        thread.join()
    if errors:
        # a lost piece of output must not pass for a complete run
        raise Failure("transport", "; ".join(errors))
    emit({"event": "exit", "code": 0 if code is None else int(code)})
    detach(sb)
    return None


def op_terminate(modal, req):
    sb = modal.Sandbox.from_id(req["sandbox_id"])
    sb.terminate()
    detach(sb)
    return None


OPERATIONS = {
    "create": op_create,
    "get": op_get,
    "list": op_list,
    "upload": op_upload,
    "exec": op_exec,
    "terminate": op_terminate,
}


def main():
    try:
        req = json.loads(sys.stdin.read())
        operation = OPERATIONS[req["op"]]
    except Exception as exc:
        emit({"event": "error", "kind": "protocol", "message": "bad request: %s" % exc})
        return 2
    try:
        import modal
    except ImportError as exc:
        emit({"event": "error", "kind": "missing-client", "message": "cannot import modal (%s); pip install modal" % exc})
        return 3
    try:
        value = operation(modal, req)
        if req["op"] != "exec":
            emit({"event": "result", "value": value})
    except Exception as exc:
        message = str(exc) if isinstance(exc, Failure) else "%s: %s" % (type(exc).__name__, exc)
        emit({"event": "error", "kind": classify(exc), "message": message})
        return 125
    return 0


if __name__ == "__main__":
    sys.exit(main())
