#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check a guest image against GUEST_ABI §1 and the software CPU.

    check_guest.py [--objdump PATH] [--config yes|no] [--quiet] ELF [-- COMMAND...]

With a COMMAND (the compiler invocation that writes ELF), run it first; if
it fails or any check fails, ELF is deleted, so a build never leaves an
image that did not pass. The checks:

- the ELF: a static ELF64 x86-64 ET_EXEC with PT_LOAD segments that are
  page-aligned, identity-placed (p_paddr == p_vaddr), disjoint, inside the
  file, between 1 MiB and 8 MiB (16 MiB is the smallest RAM the ABI allows,
  and its top is reserved); no PT_INTERP or PT_DYNAMIC; the entry in an
  executable segment;
- .rvconfig: present (with --config yes) as a page-aligned 64-byte block
  inside a PT_LOAD's file image, with the right magic and version; or
  absent (--config no);
- the code: objdump's disassembly has no x87, MMX, SSE or AVX register or
  instruction, and every mnemonic is one the software CPU implements
  (docs/instructions.md).
"""
import argparse
import os
import re
import struct
import subprocess
import sys

PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
PF_X = 1
PAGE = 4096
LOAD_MIN, LOAD_MAX = 0x100000, 0x800000
CONFIG_MAGIC, CONFIG_VERSION, CONFIG_SIZE = 0x46435652, 1, 64

# Registers no integer-only guest may name.
FORBIDDEN_REGS = re.compile(r"%(xmm|ymm|zmm|st\b|st\(|mm\d|k\d)")

CC = r"(o|no|b|nb|c|nc|ae|nae|e|z|ne|nz|be|na|a|nbe|s|ns|p|pe|np|po|l|nge|ge|nl|le|ng|g|nle)"
# Mnemonics (AT&T, as objdump prints them) of what docs/instructions.md lists.
ALLOWED = set("""
    add adc sub sbb and or xor cmp test inc dec neg not mul imul div idiv
    mov movabs lea push pop pushf popf xchg cmpxchg cmpxchg8b cmpxchg16b xadd bswap
    cbtw cwtl cltq cwtd cltd cqto
    rol ror rcl rcr shl sal shr sar shld shrd
    bt bts btr btc bsf bsr tzcnt lzcnt popcnt
    jmp call ret leave enter loop loope loopne jrcxz jecxz
    sahf lahf cmc clc stc cld std cli sti
    movs stos lods cmps scas
    nop pause hlt ud2 in out int3 int iretq iret
    lgdt lidt sgdt sidt invlpg vmcall vmmcall rdtscp rdtsc rdmsr wrmsr cpuid invpcid
    wbinvd lfence mfence sfence clflush
    vmxon vmxoff vmclear vmptrld vmptrst vmread vmwrite vmlaunch vmresume invept invvpid
    vmrun vmload vmsave stgi clgi invlpga
    prefetch prefetchw prefetchnta prefetcht0 prefetcht1 prefetcht2
""".split())
ALLOWED_RE = re.compile(r"^(j%s|set%s|cmov%s|mov[sz][bwl][wlq]?)$" % (CC, CC, CC))
PREFIXES = {"lock", "rep", "repz", "repe", "repnz", "repne", "data16", "addr32",
            "cs", "ds", "es", "ss"}


class Bad(Exception):
    pass


def allowed(mnemonic):
    if mnemonic in ALLOWED or ALLOWED_RE.match(mnemonic):
        return True
    # A size suffix: addq, movl, stosb, pushfq, iretq ...
    return mnemonic[-1] in "bwlq" and (mnemonic[:-1] in ALLOWED or ALLOWED_RE.match(mnemonic[:-1]))


def check_code(path, objdump):
    out = subprocess.run([objdump, "-d", "-w", "-M", "att", "--no-show-raw-insn", path],
                         check=True, capture_output=True, text=True).stdout
    count, bad = 0, []
    for line in out.splitlines():
        m = re.match(r"^\s*([0-9a-f]+):\s+(.*)$", line)
        if not m:
            continue
        text = m.group(2).split("#")[0].strip()
        words = text.split()
        while words and words[0] in PREFIXES:
            words.pop(0)
        if not words:
            continue  # a lone prefix line
        count += 1
        mnemonic = words[0]
        if FORBIDDEN_REGS.search(text):
            bad.append("%s: %s (an x87/MMX/SSE/AVX register)" % (m.group(1), text))
        elif mnemonic.startswith("f") or not allowed(mnemonic):
            bad.append("%s: %s (not an instruction the software CPU runs)" % (m.group(1), text))
    if bad:
        raise Bad("%d forbidden instruction(s):\n  %s" % (len(bad), "\n  ".join(bad[:20])))
    if count == 0:
        raise Bad("no code to disassemble")
    return count


def sections(data, shoff, shnum, shentsize, shstrndx):
    if shoff == 0 or shnum == 0:
        return {}
    raw = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = raw[shstrndx]
    names = data[strtab[4]:strtab[4] + strtab[5]]
    result = {}
    for s in raw:
        name = names[s[0]:names.index(b"\0", s[0])].decode()
        result[name] = {"type": s[1], "addr": s[3], "offset": s[4], "size": s[5]}
    return result


def check_segments(data, loads):
    if not loads:
        raise Bad("no PT_LOAD segment")
    for p in loads:
        _, flags, offset, vaddr, paddr, filesz, memsz, _ = p
        where = "PT_LOAD at %#x" % paddr
        if paddr != vaddr:
            raise Bad("%s: p_vaddr %#x differs (the boot tables identity-map RAM)" % (where, vaddr))
        if paddr % PAGE or offset % PAGE:
            raise Bad("%s: not page-aligned (offset %#x)" % (where, offset))
        if filesz > memsz or offset + filesz > len(data):
            raise Bad("%s: p_filesz %#x, p_memsz %#x, file %#x bytes" % (where, filesz, memsz, len(data)))
        if paddr < LOAD_MIN or paddr + memsz > LOAD_MAX:
            raise Bad("%s: [%#x, %#x) is outside [%#x, %#x)" % (where, paddr, paddr + memsz, LOAD_MIN, LOAD_MAX))
    spans = sorted((p[4], p[4] + p[6]) for p in loads)
    for (a0, a1), (b0, _) in zip(spans, spans[1:]):
        if b0 < a1:
            raise Bad("PT_LOAD segments [%#x, %#x) and %#x overlap" % (a0, a1, b0))


def check_config(data, secs, loads, want):
    sec = secs.get(".rvconfig")
    if not want:
        if sec:
            raise Bad(".rvconfig present in a guest that declares no configuration")
        return "no .rvconfig"
    if not sec:
        raise Bad("no .rvconfig section")
    if sec["size"] != CONFIG_SIZE or sec["addr"] % PAGE:
        raise Bad(".rvconfig: %d bytes at %#x, want %d bytes on a page" % (sec["size"], sec["addr"], CONFIG_SIZE))
    inside = [p for p in loads if p[3] <= sec["addr"] and sec["addr"] + CONFIG_SIZE <= p[3] + p[5]
              and p[2] + sec["addr"] - p[3] == sec["offset"]]
    if not inside:
        raise Bad(".rvconfig is not in the file image of a PT_LOAD segment")
    magic, version, rounds, pages, seed = struct.unpack_from("<IIQQQ", data, sec["offset"])
    if magic != CONFIG_MAGIC or version != CONFIG_VERSION:
        raise Bad(".rvconfig: magic %#x version %d" % (magic, version))
    return ".rvconfig at %#x (rounds %d, pages %d, seed %#x)" % (sec["addr"], rounds, pages, seed)


def check_elf(path, want_config):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 64 or data[:4] != b"\x7fELF":
        raise Bad("not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise Bad("not ELF64 little-endian")
    (etype, machine, _, entry, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum,
     shstrndx) = struct.unpack_from("<HHIQQQIHHHHHH", data, 16)
    if etype != 2 or machine != 62:
        raise Bad("e_type %d e_machine %d, want ET_EXEC (2) and EM_X86_64 (62)" % (etype, machine))
    phdrs = [struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize) for i in range(phnum)]
    for p in phdrs:
        if p[0] in (PT_INTERP, PT_DYNAMIC):
            raise Bad("a PT_INTERP or PT_DYNAMIC segment: not a static image")
    loads = [p for p in phdrs if p[0] == PT_LOAD]
    check_segments(data, loads)
    if not any(p[1] & PF_X and p[3] <= entry < p[3] + p[6] for p in loads):
        raise Bad("the entry %#x is not in an executable PT_LOAD" % entry)
    config = check_config(data, sections(data, shoff, shnum, shentsize, shstrndx), loads, want_config)
    return "ET_EXEC, entry %#x, %d PT_LOAD, %s" % (entry, len(loads), config)


def main():
    argv = sys.argv[1:]
    command = []
    if "--" in argv:
        i = argv.index("--")
        argv, command = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objdump", default="objdump")
    ap.add_argument("--config", choices=["yes", "no"], default="no")
    ap.add_argument("--quiet", action="store_true", help="print nothing unless a check fails")
    ap.add_argument("elf")
    args = ap.parse_args(argv)
    try:
        if command:
            rc = subprocess.run(command).returncode
            if rc:
                raise Bad("the compiler failed (status %d)" % rc)
        layout = check_elf(args.elf, args.config == "yes")
        count = check_code(args.elf, args.objdump)
    except (Bad, OSError, struct.error, subprocess.CalledProcessError) as e:
        print("%s: %s" % (args.elf, e), file=sys.stderr)
        if command and os.path.exists(args.elf):
            os.unlink(args.elf)
        return 1
    if not args.quiet:
        print("%s: %s; %d instructions, all integer and supported" % (args.elf, layout, count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
