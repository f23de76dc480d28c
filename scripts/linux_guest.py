# SPDX-License-Identifier: BSD-3-Clause
"""What the real-Linux-guest runners share (scripts/nested-guest,
scripts/real-guest): scripts/emuhost as a module, the guest kernel and its
NVMe driver modules in load order, a busybox initramfs around them (cached
by content), and QEMU's firmware for a -kernel boot."""
import hashlib
import importlib.machinery
import importlib.util
import os
import re
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
FIRMWARE = ("bios-256k.bin", "linuxboot_dma.bin", "kvmvapic.bin")
GUEST_MODULE = "nvme"
# Bump when the layout written by guest_initramfs() changes.
INITRAMFS_FORMAT = "1"


def load_emuhost():
    """scripts/emuhost as a module (its Cpio writer and helpers)."""
    path = os.path.join(HERE, "emuhost")
    loader = importlib.machinery.SourceFileLoader("emuhost", path)
    spec = importlib.util.spec_from_loader("emuhost", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


EMUHOST = load_emuhost()


def cache_dir(*parts):
    """${XDG_CACHE_HOME:-~/.cache}/iofd/PARTS, created."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    d = os.path.join(base, "iofd", *parts)
    os.makedirs(d, exist_ok=True)
    return d


def module_depends(path):
    """The names in a module's depends= (its .modinfo), in order."""
    with open(path, "rb") as f:
        data = f.read()
    m = re.search(rb"(?:^|\0)depends=([^\0]*)", data)
    return [d for d in m.group(1).decode().split(",") if d] if m else []


def modules_in_order(moddir, name, order=None):
    """Paths of module `name` and everything it depends on, deepest first."""
    order = [] if order is None else order
    path = os.path.join(moddir, name + ".ko")
    if not os.path.isfile(path):
        alt = os.path.join(moddir, name.replace("_", "-") + ".ko")
        if not os.path.isfile(alt):
            raise EMUHOST.Unavailable(f"the guest kernel has no module {name}")
        path = alt
    for dep in module_depends(path):
        modules_in_order(moddir, dep, order)
    if path not in order:
        order.append(path)
    return order


def guest_parts():
    """The guest's vmlinuz and its NVMe modules in load order."""
    d, err = EMUHOST.script_output(["kernel-fetch.sh", "guest", "6.12"])
    if d is None:
        raise EMUHOST.Unavailable(f"cannot fetch the 6.12 guest kernel: {err[0]}")
    return (os.path.join(d, "vmlinuz"),
            modules_in_order(os.path.join(d, "modules"), GUEST_MODULE))


def _busybox():
    busybox = shutil.which("busybox")
    if not busybox:
        raise EMUHOST.Unavailable("busybox is not installed (busybox-static)")
    return busybox


def _closure(paths):
    """`paths` and every shared library each ELF among them needs (ldd),
    deduplicated, in a stable order."""
    out = []
    for p in paths:
        for q in [p] + (EMUHOST.shared_libs(p) if EMUHOST.is_elf(p) else []):
            if q not in out:
                out.append(q)
    return out


def _initramfs_key(files, mods, init):
    """A digest of everything that goes into the initramfs."""
    h = hashlib.sha256(INITRAMFS_FORMAT.encode() + b"\0" + init.encode())
    for p in files + mods:
        h.update(b"\0" + p.encode() + b"\0")
        if os.path.islink(p):
            h.update(b"->" + os.readlink(p).encode())
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:20]


def guest_initramfs(dest, mods, init, programs=(), cache=None):
    """Write the guest's initramfs to `dest`: busybox (its applets at
    /bin), the modules `mods` under /modules, `programs` with their shared
    libraries at their own paths, and `init` as /init. With `cache` (a
    name under ~/.cache/iofd) the cpio is kept there keyed by the digest of
    its contents and reused; the previous ones of that name are removed.
    Returns the digest. Raises Unavailable without busybox."""
    busybox = _busybox()
    files = _closure([busybox] + [os.path.abspath(p) for p in programs])
    key = _initramfs_key(files, list(mods), init)
    cached = None
    if cache:
        cached = os.path.join(cache_dir(cache), f"initramfs-{key}.cpio")
        if os.path.isfile(cached):
            shutil.copyfile(cached, dest)
            return key
    cpio = EMUHOST.Cpio(dest + ".part")
    for d in ("proc", "sys", "dev", "tmp", "bin", "modules"):
        cpio.dir(d)
    with open(busybox, "rb") as f:
        cpio.file("/bin/busybox", f.read())
    for p in files[1:]:
        cpio.copy(p)
    for m in mods:
        with open(m, "rb") as f:
            cpio.file("/modules/" + os.path.basename(m), f.read(), 0o644)
    cpio.file("/init", init.encode())
    cpio.close()
    os.rename(dest + ".part", dest)
    if cached:
        for old in os.listdir(os.path.dirname(cached)):
            if old.startswith("initramfs-") and old != os.path.basename(cached):
                os.unlink(os.path.join(os.path.dirname(cached), old))
        shutil.copyfile(dest, cached + ".part")
        os.rename(cached + ".part", cached)
    return key


def copy_firmware(work):
    """QEMU's firmware for a -kernel boot, dereferenced, in one -L dir."""
    r = subprocess.run(["qemu-system-x86_64", "-L", "help"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True)
    dirs = r.stdout.split()
    fw = os.path.join(work, "fw")
    os.makedirs(fw)
    for name in FIRMWARE:
        for d in dirs:
            if os.path.exists(os.path.join(d, name)):
                shutil.copy(os.path.join(d, name), fw)
                break
        else:
            raise EMUHOST.Unavailable(f"QEMU's firmware {name} is not installed")
    return fw
