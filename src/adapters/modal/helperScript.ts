/**
 * helper.py, embedded so that both builds (tsc into dist/src and the esbuild bundle
 * dist/crabbox.cjs) carry it without copying files. Edit helper.py, then paste it here:
 * test/unit/modalHelperScript.test.ts fails while the two differ.
 */
export const MODAL_HELPER_SCRIPT = String.raw`"""crabbox's bridge to the local Modal Python client.

One process per operation. The request is one JSON object on stdin, so neither the
user's command nor anything secret appears on a process argv. The answer is JSON
lines on stdout, one event per line:

  {"event": "stdout", "data": "<base64>"}   remote output, while it arrives (exec)
  {"event": "stderr", "data": "<base64>"}
  {"event": "exit", "code": N}              the remote exit status (exec; -1: exec deadline)
  {"event": "result", "value": ...}         the answer of create/get/list/upload/terminate
  {"event": "error", "kind": K, "message": M[, "sandbox_id": ID]}

An error names a sandbox_id when a sandbox was made that the caller did not get back (a
create that could not tag it), so the caller can make sure it is gone. The kind not-found
means Modal knows no sandbox of the requested id (Sandbox.from_id raised NotFoundError),
and nothing else: any other failure, whatever its message says, is transport (or auth for
modal.exception.AuthError).

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
    def __init__(self, kind, message, sandbox_id=None):
        super().__init__(message)
        self.kind = kind
        self.sandbox_id = sandbox_id


def is_modal_error(modal, exc, name):
    """exc is an instance of modal.exception.<name> (by class, never by message)."""
    cls = getattr(getattr(modal, "exception", None), name, None)
    return isinstance(cls, type) and isinstance(exc, cls)


def classify(modal, exc):
    if isinstance(exc, Failure):
        return exc.kind
    if modal is not None and is_modal_error(modal, exc, "AuthError"):
        return "auth"
    return "transport"


def describe(exc):
    return str(exc) if isinstance(exc, Failure) else "%s: %s" % (type(exc).__name__, exc)


def sandbox_id(sb):
    return getattr(sb, "object_id", None) or getattr(sb, "sandbox_id", "")


def sandbox_from_id(modal, wanted):
    """The sandbox; a NotFoundError of this lookup (and only of it) is the kind not-found."""
    try:
        return modal.Sandbox.from_id(wanted)
    except Exception as exc:
        if is_modal_error(modal, exc, "NotFoundError"):
            raise Failure("not-found", "Modal knows no sandbox %s (%s)" % (wanted, describe(exc)))
        raise


def sandbox_tags(sb):
    # a failed read is an error, never an empty tag set: that would pass for "not crabbox's"
    return dict(sb.get_tags() or {})


def sandbox_status(sb):
    # a failed poll is an error, never a guess
    return "running" if sb.poll() is None else "finished"


def sandbox_json(sb):
    return {"id": sandbox_id(sb), "status": sandbox_status(sb), "tags": sandbox_tags(sb)}


def detach(sb):
    try:
        sb.detach()
    except Exception:
        pass


def rejects_tags_keyword(exc):
    """The TypeError of a client (modal < 1.4.3) whose Sandbox.create has no tags= keyword."""
    text = str(exc)
    return "unexpected keyword argument" in text and "'tags'" in text


def tag_or_terminate(modal, sb, tags):
    """Tag a sandbox made without tags; if that fails, terminate it: untagged, nobody could find it."""
    try:
        sb.set_tags(tags)
    except Exception as exc:
        made = sandbox_id(sb)
        try:
            sb.terminate()
            fate = "it was terminated"
        except Exception as terminate_exc:
            fate = "terminating it failed too (%s); it runs until its timeout unless stopped" % describe(terminate_exc)
        raise Failure(classify(modal, exc), "modal sandbox %s was created but could not be tagged (%s); %s" % (made, describe(exc), fate), made)


def op_create(modal, req):
    app = modal.App.lookup(req["app"], create_if_missing=True)
    image = modal.Image.from_registry(req["image"])
    options = {"app": app, "image": image, "timeout": int(req["timeout_seconds"]), "workdir": req["workdir"]}
    tags = dict(req.get("tags") or {})
    try:
        # tags at create (modal >= 1.4.3): the sandbox is never visible untagged
        sb = modal.Sandbox.create(tags=tags, **options)
    except TypeError as exc:
        # any other TypeError may come after the create went through: a retry could make a second sandbox
        if not rejects_tags_keyword(exc):
            raise
        sb = modal.Sandbox.create(**options)
        tag_or_terminate(modal, sb, tags)
    value = {"id": sandbox_id(sb), "status": "running", "tags": tags}
    detach(sb)
    return value


def op_get(modal, req):
    sb = sandbox_from_id(modal, req["sandbox_id"])
    value = sandbox_json(sb)
    detach(sb)
    return value


def op_list(modal, req):
    try:
        app = modal.App.lookup(req["app"], create_if_missing=False)
    except Exception as exc:
        if is_modal_error(modal, exc, "NotFoundError"):
            return []
        raise
    return [sandbox_json(sb) for sb in modal.Sandbox.list(app_id=app.app_id, tags=dict(req.get("tags") or {}))]


def op_upload(modal, req):
    sb = sandbox_from_id(modal, req["sandbox_id"])
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
    sb = sandbox_from_id(modal, req["sandbox_id"])
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
    if code is None:
        # no status is not a success: the caller must not report exit 0
        raise Failure("transport", "the modal client reported no exit status for the exec")
    emit({"event": "exit", "code": int(code)})
    detach(sb)
    return None


def op_terminate(modal, req):
    # not-found only when the sandbox lookup says so; an error of terminate() itself is a failure
    sb = sandbox_from_id(modal, req["sandbox_id"])
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
        event = {"event": "error", "kind": classify(modal, exc), "message": describe(exc)}
        if isinstance(exc, Failure) and exc.sandbox_id:
            event["sandbox_id"] = exc.sandbox_id
        emit(event)
        return 125
    return 0


if __name__ == "__main__":
    sys.exit(main())
`
