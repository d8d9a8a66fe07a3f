/**
 * The two remote programs a sync runs, as POSIX sh. Both are passed to `sh -c` with
 * their inputs as positional arguments, so the user's login shell and its quoting rules
 * never see them, and `shellQuote` keeps every path one word.
 *
 * Remote tools: POSIX sh, GNU tar, coreutils (`head -c`, `wc`, `mv`, `rm`, `rmdir`) and
 * `xargs -0` (findutils; busybox has it too).
 *
 * Remote layout in `metaDir`: `manifest.json` (what the workdir holds), `fingerprint`
 * (the tree it was synced from). The fingerprint is deleted first and written last, so
 * a cut-short upload never looks synced.
 */
import { shellQuote } from "../../domain/shellQuote.js"

/** Prefix of the lines our scripts print, so shell start-up chatter cannot be mistaken for them. */
export const marker = "@@crabbox-sync"

const asShellCommand = (script: string, args: ReadonlyArray<string>): string =>
  `sh -c ${shellQuote(script)} crabbox-sync ${args.map(shellQuote).join(" ")}`

const probeScript = `set -eu
wd=$1 meta=$2 fp=$3
mkdir -p -- "$wd" "$meta"
if [ -f "$meta/fingerprint" ] && [ "$(cat -- "$meta/fingerprint")" = "$fp" ]; then
  echo "${marker} same"
elif [ -f "$meta/manifest.json" ]; then
  echo "${marker} manifest"
  cat -- "$meta/manifest.json"
else
  echo "${marker} none"
fi`

/**
 * Round trip 1: create the directories and answer `same` (fingerprint matches) or the
 * stored manifest (`manifest` + JSON, `none` when absent).
 */
export const probeCommand = (p: { workdir: string; metaDir: string; fingerprint: string }): string =>
  asShellCommand(probeScript, [p.workdir, p.metaDir, p.fingerprint])

/**
 * Deletes paths (`rm`) or empty directories (`rmdir`) given as arguments, relative to
 * the workdir, skipping any path with a symlink among its parents: a link left on the
 * box (by a build, say) must not lead a delete outside the workdir. Best effort: a path
 * already gone or a directory still in use is not an error. No single quotes inside,
 * because it travels inside the quoted upload script.
 */
const deleteScript = `op=$0 n=$# i=0
while [ "$i" -lt "$n" ]; do
  p=$1; shift; i=$((i + 1))
  rest=$p pre= ok=1
  while :; do
    case $rest in
      */*) pre=\${pre:+$pre/}\${rest%%/*}; rest=\${rest#*/} ;;
      *) break ;;
    esac
    if [ -L "$pre" ]; then ok=0; break; fi
  done
  if [ "$ok" = 1 ]; then set -- "$@" "$p"; fi
done
[ "$#" -gt 0 ] || exit 0
if [ "$op" = rm ]; then rm -f -- "$@" 2>/dev/null || :; else rmdir -- "$@" 2>/dev/null || :; fi`

const uploadScript = `set -eu
wd=$1 meta=$2 fp=$3 full=$4
delete='${deleteScript}'
if [ "$full" = 1 ]; then rm -rf -- "$wd"; fi
mkdir -p -- "$wd" "$meta"
rm -f -- "$meta/fingerprint"
take() {
  head -c "$1" > "$2"
  [ "$(wc -c < "$2")" -eq "$1" ] || { echo "crabbox: upload cut short" >&2; exit 3; }
}
take "$5" "$meta/manifest.json.next"
mv -f -- "$meta/manifest.json.next" "$meta/manifest.json"
take "$6" "$meta/remove.list"
take "$7" "$meta/prune.list"
take "$8" "$meta/manifest.json.next"
cd -- "$wd"
xargs -0 -r sh -c "$delete" rm < "$meta/remove.list"
xargs -0 -r sh -c "$delete" rmdir < "$meta/prune.list"
tar -x -p -m --no-same-owner -f - -C "$wd"
mv -f -- "$meta/manifest.json.next" "$meta/manifest.json"
printf '%s\\n' "$fp" > "$meta/fingerprint.next"
mv -f -- "$meta/fingerprint.next" "$meta/fingerprint"
rm -f -- "$meta/remove.list" "$meta/prune.list"
echo "${marker} done"`

/** Byte lengths of the parts that precede the tar on the upload's stdin, in order. */
export interface UploadPreambleSizes {
  /** manifest to keep while the upload runs (touched paths marked pending) */
  readonly inFlightManifest: number
  /** NUL-separated paths to delete */
  readonly removeList: number
  /** NUL-separated directories to try to remove, deepest first */
  readonly pruneList: number
  /** manifest to install once the tar is extracted */
  readonly finalManifest: number
}

/**
 * Round trip 2: stdin is the preamble parts (read with `head -c`, which reads no more
 * than asked), then a tar. Order: drop the fingerprint, install the in-flight manifest,
 * delete, extract, install the final manifest, write the fingerprint. A full resync
 * first removes the workdir itself (`rm -rf` removes a symlinked workdir's link, not
 * its target). `-m` stamps files with the extraction time so remote builds see changed
 * files as new.
 */
export const uploadCommand = (p: {
  workdir: string
  metaDir: string
  fingerprint: string
  fullResync: boolean
  sizes: UploadPreambleSizes
}): string =>
  asShellCommand(uploadScript, [
    p.workdir, p.metaDir, p.fingerprint, p.fullResync ? "1" : "0",
    String(p.sizes.inFlightManifest), String(p.sizes.removeList), String(p.sizes.pruneList),
    String(p.sizes.finalManifest)
  ])
