#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Exit 0 when this machine's own /dev/kvm works (it opens, answers the API
version 12 and creates a VM), 1 otherwise with the reason on stderr."""
import fcntl
import os
import sys

KVM_GET_API_VERSION = 0xAE00
KVM_CREATE_VM = 0xAE01

try:
    fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    try:
        if fcntl.ioctl(fd, KVM_GET_API_VERSION) != 12:
            raise OSError("unexpected KVM API version")
        os.close(fcntl.ioctl(fd, KVM_CREATE_VM, 0))
    finally:
        os.close(fd)
except OSError as e:
    sys.stderr.write(f"no native KVM: /dev/kvm: {e.strerror or e}\n")
    sys.exit(1)
sys.exit(0)
