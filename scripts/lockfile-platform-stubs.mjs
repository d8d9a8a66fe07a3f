#!/usr/bin/env node
// The npm mirror this project is built with serves platform-specific optional packages
// (rollup's and msgpackr-extract's native builds) only for this machine's platform, so
// `npm install` leaves the others out of package-lock.json and `npm ci` then refuses the
// lock ("Missing: @rollup/rollup-darwin-x64@ from lock file"). This adds lock entries for
// the missing optional packages, marked with their os/cpu so npm skips them on every other
// platform without fetching. Run it after any `npm install` that changes the lock.
import { readFileSync, writeFileSync } from "node:fs"

const OS = ["android", "darwin", "freebsd", "linux", "openbsd", "openharmony", "win32", "sunos", "aix", "netbsd"]
const CPU = ["arm64", "x64", "ia32", "arm", "loong64", "ppc64", "riscv64", "s390x", "mips64el"]

const lockPath = new URL("../package-lock.json", import.meta.url)
const lock = JSON.parse(readFileSync(lockPath, "utf8"))
const packages = lock.packages
let added = 0
for (const [key, entry] of Object.entries(packages)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${key}/node_modules/${name}`
    const hoisted = `node_modules/${name}`
    if (packages[nested] || packages[hoisted]) continue
    if (!/^\d+\.\d+\.\d+/.test(spec)) continue
    const words = name.split(/[/-]/)
    const os = OS.filter((o) => words.includes(o))
    const cpu = CPU.filter((c) => words.includes(c) || (c === "arm" && words.includes("gnueabihf")))
    if (os.length === 0 || cpu.length === 0) continue
    const stub = { version: spec, cpu: cpu.slice(0, 1), dev: entry.dev || undefined, license: "MIT", optional: true, os }
    if (name.endsWith("-musl") || name.includes("musleabihf")) stub.libc = ["musl"]
    else if (os[0] === "linux" && (name.endsWith("-gnu") || name.includes("gnueabihf"))) stub.libc = ["glibc"]
    packages[hoisted] = stub
    added++
  }
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)))
writeFileSync(lockPath, JSON.stringify(lock, null, 2) + "\n")
console.log(`added ${added} platform stub(s) to package-lock.json`)
