#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generate the differential-test corpus.

Writes two files from a fixed seed:
  --asm FILE   GNU as source: every case's instructions in one read-only
               section, each between its own labels, plus a table of
               (offset, length) pairs the assembler computes;
  --c FILE     C tables: each case's name, registers, RFLAGS, data-page
               seed and patches, undefined flags, privilege and expectations.

The bytes come from the assembler, never from this script, so a case is
exactly what its assembly says. The script has its own PRNG (splitmix64):
the output depends on the seed only, not on the Python version.

Snippet text uses a few placeholders, replaced per case:
  @S       the case's first byte (for RIP-relative operands: @S+X(%rip)
           addresses SNIPPET_CODE + X at run time);
  @1..@9   local labels (write "@1:" to place one).
"""

import argparse
import sys

SNIPPET_CODE = 0x100000
SNIPPET_DATA = 0x200000
DATA_SIZE = 4096
SNIPPET_STACK = 0x310000

RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI = range(8)

CF, PF, AF, ZF, SF, DF, OF = 0x1, 0x4, 0x10, 0x40, 0x80, 0x400, 0x800
ARITH = CF | PF | AF | ZF | SF | OF

DE, BP, UD, SS, GP, PF_VEC = 0, 3, 6, 12, 13, 14

DEFAULT_SEED = 0x5EED_D1FF_C0DE_2024

CONDS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a',
         's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g']

SUFFIX = {8: 'b', 16: 'w', 32: 'l', 64: 'q'}


def mask(size):
    return (1 << size) - 1


def sext(value, size):
    value &= mask(size)
    return value - (1 << size) if value >> (size - 1) else value


def imm(value):
    return '$' + (('-%#x' % -value) if value < 0 else ('%#x' % value))


def disp(value):
    return ('-%#x' % -value) if value < 0 else ('%#x' % value)


class Rng:
    """splitmix64: small, fast, and the same everywhere."""

    def __init__(self, seed):
        self.state = seed & mask(64)

    def u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & mask(64)
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask(64)
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask(64)
        return z ^ (z >> 31)

    def below(self, n):
        return self.u64() % n

    def between(self, lo, hi):
        return lo + self.below(hi - lo + 1)

    def pick(self, seq):
        return seq[self.below(len(seq))]

    def chance(self, num, den):
        return self.below(den) < num

    def bits(self, size):
        return self.u64() & mask(size)


# ---- registers --------------------------------------------------------------

NAMES64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi']
NAMES32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi']
NAMES16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di']
NAMES8 = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil']
NAMES8H = ['ah', 'ch', 'dh', 'bh']


class Reg:
    """A register operand: GPR index, width, and for AH..BH high=True."""

    def __init__(self, idx, size, high=False):
        self.idx, self.size, self.high = idx, size, high

    def __str__(self):
        i, s = self.idx, self.size
        if s == 8 and self.high:
            return '%' + NAMES8H[i]
        if i >= 8:
            return '%%r%d%s' % (i, {64: '', 32: 'd', 16: 'w', 8: 'b'}[s])
        return '%' + {64: NAMES64, 32: NAMES32, 16: NAMES16, 8: NAMES8}[s][i]

    def needs_rex(self):
        return self.idx >= 8 or (self.size == 8 and 4 <= self.idx < 8
                                 and not self.high)

    def shift(self):
        return 8 if self.high else 0

    def read(self, gpr):
        return (gpr[self.idx] >> self.shift()) & mask(self.size)

    def merged(self, old, value):
        """@old with only this operand's bits replaced by @value."""
        m = mask(self.size) << self.shift()
        return (old & ~m & mask(64)) | ((value & mask(self.size))
                                        << self.shift())

    def written(self, old, value):
        """The 64-bit register after an instruction writes @value here:
        a 32-bit write zero-extends, 8- and 16-bit writes merge."""
        if self.size == 32:
            return value & mask(32)
        return self.merged(old, value)


class Mem:
    """A memory operand: its text, the data-page offset and the width."""

    def __init__(self, text, off, size):
        self.text, self.off, self.size = text, off, size

    def __str__(self):
        return self.text


# ---- cases ------------------------------------------------------------------

class Case:
    def __init__(self, family, name, rng):
        self.family = family
        self.name = name
        self.lines = []
        self.gpr = [rng.u64() for _ in range(16)]
        # Room on both sides: pushes go down, ret $imm and pops go up.
        self.gpr[RSP] = SNIPPET_STACK - 0x400 - 8 * rng.below(64)
        self.rflags = 0x2 | (rng.u64() & ARITH)
        self.seed = rng.u64() | 1
        self.patches = {}
        self.undef = 0
        self.privileged = False
        self.vector = -1
        self.expect = []

    def asm(self, *lines):
        self.lines.extend(lines)
        return self

    def poke(self, off, value, nbytes):
        assert 0 <= off and off + nbytes <= DATA_SIZE, (self.name, off)
        for i in range(nbytes):
            self.patches[off + i] = (value >> (8 * i)) & 0xFF

    def peek(self, off, nbytes):
        """A byte this case patched (the rest of the page is random)."""
        return sum(self.patches[off + i] << (8 * i) for i in range(nbytes))

    def set(self, op, value):
        """An input operand. A register keeps its random bits outside the
        operand, so an instruction that wrongly reads them shows."""
        if isinstance(op, Mem):
            self.poke(op.off, value, op.size // 8)
        else:
            self.gpr[op.idx] = op.merged(self.gpr[op.idx], value)

    def get(self, op):
        if isinstance(op, Mem):
            return self.peek(op.off, op.size // 8)
        return op.read(self.gpr)

    def flag(self, bit, on):
        self.rflags = (self.rflags | bit) if on else (self.rflags & ~bit)

    def want(self, reg_idx, value):
        """Record a register's final value the script can compute."""
        self.expect.append((reg_idx, value & mask(64)))


def cond(cc, f):
    cf, pf, zf, sf, of = [bool(f & b) for b in (CF, PF, ZF, SF, OF)]
    table = {
        'o': of, 'no': not of, 'b': cf, 'ae': not cf, 'e': zf, 'ne': not zf,
        'be': cf or zf, 'a': not (cf or zf), 's': sf, 'ns': not sf,
        'p': pf, 'np': not pf, 'l': sf != of, 'ge': sf == of,
        'le': zf or sf != of, 'g': not zf and sf == of,
    }
    return table[cc]


# ---- undefined flags (Intel SDM, per instruction) ---------------------------

LOGIC_UNDEF = AF                    # AND OR XOR TEST: OF=CF=0, AF undefined
MUL_UNDEF = SF | ZF | AF | PF       # MUL IMUL: only CF and OF defined
DIV_UNDEF = ARITH                   # DIV IDIV: all six undefined
BT_UNDEF = OF | SF | AF | PF        # BT BTS BTR BTC: CF defined, ZF kept
BSF_UNDEF = CF | OF | SF | AF | PF  # BSF BSR: only ZF defined
CNT_UNDEF = OF | SF | AF | PF       # TZCNT LZCNT: CF and ZF defined


def count_mask(size):
    return 0x3F if size == 64 else 0x1F


def shift_undef(op, size, count):
    """SHL/SHR/SAR and the rotates, by the masked count."""
    mc = count & count_mask(size)
    if mc == 0:
        return 0                    # flags unaffected
    if op in ('rol', 'ror', 'rcl', 'rcr'):
        return OF if mc > 1 else 0  # SF ZF AF PF unaffected, CF defined
    undef = AF                      # undefined for any non-zero count
    if mc > 1:
        undef |= OF
    if op in ('shl', 'shr') and mc >= size:
        undef |= CF                 # only possible for 8/16-bit operands
    return undef


def shxd_undef(size, count):
    """SHLD/SHRD. Counts above the operand size are never generated: the
    destination itself would be undefined."""
    mc = count & count_mask(size)
    assert mc <= size
    if mc == 0:
        return 0
    return AF | (OF if mc > 1 else 0)


# ---- operand values ---------------------------------------------------------

def corners(size):
    m, h = mask(size), 1 << (size - 1)
    return [0, 1, 2, m, m - 1, h - 1, h, h + 1, 0x0F, 0x10,
            0x5555555555555555 & m, 0xAAAAAAAAAAAAAAAA & m]


def pair_corners(size):
    m, h = mask(size), 1 << (size - 1)
    return [(0, 0), (1, 1), (m, 1), (1, m), (h - 1, 1), (h, m), (h, 1),
            (h - 1, h - 1), (h, h), (0, 1), (0x0F, 1), (0x10, 1), (m, m),
            (h - 1, h), (0, m)]


class Gen:
    def __init__(self, seed):
        self.rng = Rng(seed)
        self.cases = []
        self.names = {}

    # -- case plumbing --

    def new(self, family, name):
        """A case with random registers and flags; @name gets a serial."""
        base = '%s.%s' % (family, name) if name else family
        n = self.names.get(base, 0)
        self.names[base] = n + 1
        c = Case(family, '%s.%d' % (base, n), self.rng)
        self.cases.append(c)
        return c

    def value(self, size):
        """Half corners, half random (a quarter of those small)."""
        r = self.rng
        if r.chance(1, 2):
            return r.pick(corners(size)) & mask(size)
        if r.chance(1, 4):
            return r.below(256) & mask(size)
        return r.bits(size)

    def values(self, size, n):
        """@n operand pairs: the corner pairs first, then random ones."""
        pc = pair_corners(size)
        out = [(a & mask(size), b & mask(size)) for a, b in pc[:n]]
        while len(out) < n:
            out.append((self.value(size), self.value(size)))
        return out

    # -- operands --

    def reg(self, size, used=(), high=False, legacy=False, rex=False):
        """A random register other than RSP and those in @used (indices).
        high: AH..BH only; legacy: no REX needed; rex: must need REX."""
        r = self.rng
        if high:
            cands = [Reg(i, 8, True) for i in range(4) if i not in used]
            return r.pick(cands)
        cands = []
        for i in range(16):
            if i == RSP or i in used:
                continue
            reg = Reg(i, size)
            if legacy and reg.needs_rex():
                continue
            if rex and not reg.needs_rex():
                continue
            cands.append(reg)
        return r.pick(cands)

    def mem(self, c, size, used=(), legacy=False, store=False, form=None,
            align=None):
        """A memory operand of @size bits inside the data page, its base
        (and index) registers set in @c. @used registers are left alone."""
        r = self.rng
        nbytes = size // 8
        forms = ['base', 'disp8', 'disp32', 'sib', 'sibdisp', 'abs', 'rip',
                 'addr32', 'seg', 'disp8', 'sib', 'base']
        form = form or r.pick(forms)
        off = r.below(DATA_SIZE - nbytes + 1)
        if align or r.chance(1, 2):
            off &= ~((align or nbytes) - 1)
        addr = SNIPPET_DATA + off
        if form == 'abs':
            return Mem(disp(addr), off, size)
        if form == 'rip':
            text = '@S+%#x(%%rip)' % (addr - SNIPPET_CODE)
            return Mem(text, off, size)
        d = {'disp8': r.between(-128, 127),
             'disp32': r.between(-0x1000, 0x1000),
             'sibdisp': r.between(-128, 127)}.get(form, 0)
        if form == 'disp32' and -128 <= d < 128:
            d += 0x200              # make GAS pick a 32-bit displacement
        base = self.reg(64, used, legacy=legacy)
        if form in ('sib', 'sibdisp'):
            index = self.reg(64, tuple(used) + (base.idx,), legacy=legacy)
            scale = r.pick([1, 2, 4, 8])
            k = r.between(-64, 64)
            c.gpr[index.idx] = k & mask(64)
            c.gpr[base.idx] = (addr - d - k * scale) & mask(64)
            text = '%s(%s,%s,%d)' % (disp(d) if d else '', base, index, scale)
            return Mem(text, off, size)
        if form == 'addr32':
            # 32-bit addressing: the upper half of the base must not count.
            b32 = Reg(base.idx, 32)
            c.gpr[base.idx] = (r.bits(32) << 32) | ((addr - d) & mask(32))
            text = '%s(%s)' % (disp(d) if d else '', b32)
            return Mem(text, off, size)
        c.gpr[base.idx] = (addr - d) & mask(64)
        text = '%s(%s)' % (disp(d) if d else '', base)
        if form == 'seg':
            segs = ['ds', 'es', 'ss'] + ([] if store else ['cs'])
            text = '%%%s:%s' % (r.pick(segs), text)
        return Mem(text, off, size)

    # -- generic emitters --

    def emit(self, c, text, undef=0):
        c.asm(text)
        c.undef = undef
        return c


# ---- results the script predicts --------------------------------------------
# Register results only, and only where they are easy to state: enough to show
# a case does what its name says, not a second CPU model.

def alu_value(op, size, a, b, cf):
    """The destination after a two-operand ALU op; None if not written."""
    return {'add': a + b, 'adc': a + b + cf, 'sub': a - b, 'sbb': a - b - cf,
            'and': a & b, 'or': a | b, 'xor': a ^ b}.get(op, None)


def want_alu(c, op, dst, b):
    """Predict a register destination of @op with source value @b."""
    v = alu_value(op, dst.size, dst.read(c.gpr), b, c.rflags & CF)
    c.want(dst.idx, c.gpr[dst.idx] if v is None
           else dst.written(c.gpr[dst.idx], v))


def unary_value(op, a):
    return {'inc': a + 1, 'dec': a - 1, 'neg': -a, 'not': ~a}[op]


def shift_value(op, size, v, count, cf):
    mc = count & count_mask(size)
    m = mask(size)
    if op == 'shl':
        return (v << mc) & m
    if op == 'shr':
        return v >> mc
    if op == 'sar':
        return (sext(v, size) >> mc) & m
    if op in ('rol', 'ror'):
        n = mc % size
        if op == 'ror':
            n = (size - n) % size
        return ((v << n) | (v >> (size - n))) & m
    w = size + 1                    # RCL/RCR rotate CF:value
    n = mc % w
    if op == 'rcr':
        n = (w - n) % w
    x = (cf << size) | v
    return ((x << n) | (x >> (w - n))) & m


def want_shift(c, op, dst, count):
    v = shift_value(op, dst.size, dst.read(c.gpr), count, c.rflags & CF)
    c.want(dst.idx, dst.written(c.gpr[dst.idx], v))


def shxd_value(op, size, d, s, count):
    mc = count & count_mask(size)
    if op == 'shld':
        return ((((d << size) | s) << mc) >> size) & mask(size)
    return ((((s << size) | d)) >> mc) & mask(size)


def mul_result(op, size, a, b):
    """(low, high) halves of a one-operand MUL/IMUL."""
    p = sext(a, size) * sext(b, size) if op == 'imul' else a * b
    p &= mask(2 * size)
    return p & mask(size), p >> size


def want_mul(c, op, size, b):
    lo, hi = mul_result(op, size, Reg(RAX, size).read(c.gpr), b)
    if size == 8:
        c.want(RAX, Reg(RAX, 16).written(c.gpr[RAX], (hi << 8) | lo))
        return
    c.want(RAX, Reg(RAX, size).written(c.gpr[RAX], lo))
    c.want(RDX, Reg(RDX, size).written(c.gpr[RDX], hi))


# ---- families ---------------------------------------------------------------

ALU = ['add', 'adc', 'sub', 'sbb', 'and', 'or', 'xor', 'cmp']


def alu_undef(op):
    return LOGIC_UNDEF if op in ('and', 'or', 'xor', 'test') else 0


def gen_alu(g):
    r = g.rng
    for op in ALU + ['test']:
        u = alu_undef(op)
        sfx = SUFFIX
        # reg, reg at every size, REX registers and AH..BH
        for size in (8, 16, 32, 64):
            for a, b in g.values(size, 9):
                c = g.new(op, 'r%d_r%d' % (size, size))
                dst = g.reg(size)
                src = g.reg(size, (dst.idx,))
                c.set(dst, a)
                c.set(src, b)
                want_alu(c, op, dst, b)
                g.emit(c, '%s %s, %s' % (op, src, dst), u)
        for a, b in g.values(8, 5):
            c = g.new(op, 'r8h')
            dst = g.reg(8, high=True)
            src = g.reg(8, (dst.idx,), high=r.chance(1, 2), legacy=True)
            c.set(dst, a)
            c.set(src, b)
            want_alu(c, op, dst, src.read(c.gpr))
            g.emit(c, '%s %s, %s' % (op, src, dst), u)
        # the other encoding of reg, reg (02/03 instead of 00/01)
        if op != 'test':
            for size in (8, 32, 64):
                c = g.new(op, 'r%d_r%d_load' % (size, size))
                dst = g.reg(size)
                src = g.reg(size, (dst.idx,))
                want_alu(c, op, dst, src.read(c.gpr))
                g.emit(c, '{load} %s %s, %s' % (op, src, dst), u)
        # same register on both sides: xor %eax,%eax and friends
        for size in (8, 32, 64):
            c = g.new(op, 'same%d' % size)
            reg = g.reg(size)
            want_alu(c, op, reg, reg.read(c.gpr))
            g.emit(c, '%s %s, %s' % (op, reg, reg), u)
        # reg, mem and mem, reg
        for size in (8, 16, 32, 64):
            for a, b in g.values(size, 3):
                if op != 'test':
                    c = g.new(op, 'r%d_m%d' % (size, size))
                    dst = g.reg(size)
                    m = g.mem(c, size, (dst.idx,))
                    c.set(dst, a)
                    c.set(m, b)
                    want_alu(c, op, dst, b)
                    g.emit(c, '%s %s, %s' % (op, m, dst), u)
                c = g.new(op, 'm%d_r%d' % (size, size))
                src = g.reg(size)
                m = g.mem(c, size, (src.idx,), store=True)
                c.set(m, a)
                c.set(src, b)
                g.emit(c, '%s %s, %s' % (op, src, m), u)
        c = g.new(op, 'm8_r8h')
        src = g.reg(8, high=True)
        m = g.mem(c, 8, (src.idx,), legacy=True, store=True, form='disp8')
        c.set(m, g.value(8))
        g.emit(c, '%s %s, %s' % (op, src, m), u)
        # reg, imm8 (sign-extended 83 form) and imm16/32
        imm8s = [0, 1, -1, 0x7F, -0x80]
        for size in (8, 16, 32, 64):
            for i in imm8s + [r.between(-128, 127)]:
                c = g.new(op, 'r%d_i8' % size)
                dst = g.reg(size)
                c.set(dst, g.value(size))
                want_alu(c, op, dst, i & mask(size))
                g.emit(c, '%s %s, %s' % (op, imm(i), dst), u)
            if size == 8:
                continue
            big = [0x7FFF, -0x8000] if size == 16 else \
                [0x7FFFFFFF, -0x80000000, 0x12345678]
            for i in big + [r.between(0x80, 0x7FFF)]:
                c = g.new(op, 'r%d_i%d' % (size, min(size, 32)))
                dst = g.reg(size)
                c.set(dst, g.value(size))
                want_alu(c, op, dst, i & mask(size))
                g.emit(c, '%s %s, %s' % (op, imm(i), dst), u)
        # accumulator short forms (04/05, 0c/0d, a8/a9, ...)
        for size in (8, 16, 32, 64):
            c = g.new(op, 'acc%d' % size)
            acc = Reg(RAX, size)
            c.set(acc, g.value(size))
            lim = 0x7F if size == 8 else 0x7FFF if size == 16 else 0x7FFFFFFF
            i = r.between(0x80, lim) if size > 8 else r.between(-128, 127)
            want_alu(c, op, acc, i & mask(size))
            g.emit(c, '%s %s, %s' % (op, imm(i), acc), u)
        c = g.new(op, 'r8h_i8')
        dst = g.reg(8, high=True)
        g.emit(c, '%s %s, %s' % (op, imm(r.between(-128, 127)), dst), u)
        # mem, imm
        for size in (8, 16, 32, 64):
            for i in (r.between(-128, 127), r.between(-0x8000, 0x7FFF)):
                if size == 8:
                    i = sext(i, 8)
                c = g.new(op, 'm%d_i' % size)
                m = g.mem(c, size, store=True)
                c.set(m, g.value(size))
                g.emit(c, '%s%s %s, %s' % (op, sfx[size], imm(i), m), u)
    # carry-in both ways for the carry users
    for op in ('adc', 'sbb'):
        for size in (8, 16, 32, 64):
            for carry in (0, 1):
                for a, b in ((mask(size), 0), (0, mask(size)),
                             ((1 << (size - 1)) - 1, 0), (0, 0)):
                    c = g.new(op, 'r%d_cf%d' % (size, carry))
                    dst = g.reg(size)
                    src = g.reg(size, (dst.idx,))
                    c.set(dst, a)
                    c.set(src, b)
                    c.flag(CF, carry)
                    want_alu(c, op, dst, b)
                    g.emit(c, '%s %s, %s' % (op, src, dst))


def gen_unary(g):
    """INC DEC NEG NOT on registers and memory."""
    for op in ('inc', 'dec', 'neg', 'not'):
        for size in (8, 16, 32, 64):
            for v in corners(size)[:8] + [g.value(size)]:
                c = g.new(op, 'r%d' % size)
                reg = g.reg(size)
                c.set(reg, v)
                c.want(reg.idx, reg.written(c.gpr[reg.idx],
                                            unary_value(op, v)))
                g.emit(c, '%s %s' % (op, reg))
            for _ in range(2):
                c = g.new(op, 'm%d' % size)
                m = g.mem(c, size, store=True)
                c.set(m, g.value(size))
                g.emit(c, '%s%s %s' % (op, SUFFIX[size], m))
        c = g.new(op, 'r8h')
        reg = g.reg(8, high=True)
        c.set(reg, g.value(8))
        g.emit(c, '%s %s' % (op, reg))


def div_result(op, size, hi, lo, d):
    """(quotient, remainder) or None for #DE."""
    if d == 0:
        return None
    dividend = (hi << size) | lo
    if op == 'div':
        q, rem = divmod(dividend, d)
        return (q, rem) if q <= mask(size) else None
    a, b = sext(dividend, 2 * size), sext(d, size)
    q = abs(a) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    rem = a - q * b
    if not -(1 << (size - 1)) <= q < (1 << (size - 1)):
        return None
    return q & mask(size), rem & mask(size)


def set_dividend(c, size, hi, lo):
    if size == 8:
        c.set(Reg(RAX, 16), (hi << 8) | lo)
    else:
        c.set(Reg(RAX, size), lo)
        c.set(Reg(RDX, size), hi)


def want_div(c, size, q, rem):
    if size == 8:
        c.want(RAX, Reg(RAX, 16).written(c.gpr[RAX], (rem << 8) | q))
        return
    c.want(RAX, Reg(RAX, size).written(c.gpr[RAX], q) if size < 32 else q)
    c.want(RDX, Reg(RDX, size).written(c.gpr[RDX], rem) if size < 32
           else rem)


def gen_muldiv(g):
    r = g.rng
    # MUL / IMUL, one operand: rDX:rAX = rAX * src
    for op in ('mul', 'imul'):
        for size in (8, 16, 32, 64):
            for a, b in g.values(size, 7):
                c = g.new(op, 'r%d' % size)
                src = g.reg(size, (RAX, RDX))
                c.set(Reg(RAX, size), a)
                c.set(src, b)
                want_mul(c, op, size, b)
                g.emit(c, '%s %s' % (op, src), MUL_UNDEF)
            for _ in range(2):
                c = g.new(op, 'm%d' % size)
                m = g.mem(c, size, (RAX, RDX))
                c.set(m, g.value(size))
                want_mul(c, op, size, c.get(m))
                g.emit(c, '%s%s %s' % (op, SUFFIX[size], m), MUL_UNDEF)
        c = g.new(op, 'r8h')
        g.emit(c, '%s %s' % (op, g.reg(8, (RAX,), high=True)), MUL_UNDEF)
        c = g.new(op, 'self8')  # mul %al: AX = AL * AL
        g.emit(c, '%s %%al' % op, MUL_UNDEF)
    # IMUL, two and three operands
    for size in (16, 32, 64):
        for a, b in g.values(size, 6):
            c = g.new('imul', 'r%d_r%d' % (size, size))
            dst = g.reg(size)
            src = g.reg(size, (dst.idx,))
            c.set(dst, a)
            c.set(src, b)
            c.want(dst.idx, dst.written(c.gpr[dst.idx],
                                        mul_result('imul', size, a, b)[0]))
            g.emit(c, 'imul %s, %s' % (src, dst), MUL_UNDEF)
        for _ in range(2):
            c = g.new('imul', 'r%d_m%d' % (size, size))
            dst = g.reg(size)
            m = g.mem(c, size, (dst.idx,))
            c.set(m, g.value(size))
            g.emit(c, 'imul %s, %s' % (m, dst), MUL_UNDEF)
        big = 0x7FFF if size == 16 else 0x7FFFFFFF
        for i in (0, 1, -1, 0x7F, -0x80, r.between(-128, 127), big, -big - 1,
                  r.between(0x80, big)):
            c = g.new('imul', 'r%d_r%d_i' % (size, size))
            dst = g.reg(size)
            src = g.reg(size, (dst.idx,)) if r.chance(3, 4) else dst
            c.set(src, g.value(size))
            lo = mul_result('imul', size, src.read(c.gpr), i & mask(size))[0]
            c.want(dst.idx, dst.written(c.gpr[dst.idx], lo))
            g.emit(c, 'imul %s, %s, %s' % (imm(i), src, dst), MUL_UNDEF)
        for i in (r.between(-128, 127), r.between(0x80, big)):
            c = g.new('imul', 'r%d_m%d_i' % (size, size))
            dst = g.reg(size)
            m = g.mem(c, size, (dst.idx,))
            c.set(m, g.value(size))
            g.emit(c, 'imul %s, %s, %s' % (imm(i), m, dst), MUL_UNDEF)
    # DIV / IDIV: quotients that fit, then the two ways to raise #DE
    for op in ('div', 'idiv'):
        for size in (8, 16, 32, 64):
            m, h = mask(size), 1 << (size - 1)
            if op == 'div':
                fixed = [(0, 1, 1), (0, m, 1), (0, m, m), (m - 1, m, m),
                         (0, 0, 7), (1, 0, 2)]
            else:
                # -2^(n-1) is the most negative quotient that still fits
                fixed = [(m, m, 1), (m, h, 1), (0, h - 1, m), (m, m, m),
                         (m, 0, 2), (0, h, m)]
            trials = fixed + [None] * 6
            for t in trials:
                if t is None:
                    d = g.value(size) or 3
                    hi = r.below(d) if op == 'div' else 0
                    lo = r.bits(size)
                    if op == 'idiv':
                        hi = m if lo >> (size - 1) else 0
                    if div_result(op, size, hi, lo, d) is None:
                        d = 3       # the minimum divided by -1
                else:
                    hi, lo, d = t
                res = div_result(op, size, hi, lo, d)
                assert res, (op, size, t)
                c = g.new(op, 'r%d' % size)
                src = g.reg(size, (RAX, RDX))
                set_dividend(c, size, hi, lo)
                c.set(src, d)
                want_div(c, size, *res)
                g.emit(c, '%s %s' % (op, src), DIV_UNDEF)
            for _ in range(2):
                c = g.new(op, 'm%d' % size)
                d = g.value(size) or 5
                lo = r.bits(size)
                hi = r.below(d) if op == 'div' else \
                    (m if lo >> (size - 1) else 0)
                res = div_result(op, size, hi, lo, d)
                if res is None:     # idiv by -1 of the minimum, etc.
                    d, hi = 7, (m if lo >> (size - 1) else 0)
                    res = div_result(op, size, hi, lo, d)
                mm = g.mem(c, size, (RAX, RDX))
                set_dividend(c, size, hi, lo)
                c.set(mm, d)
                want_div(c, size, *res)
                g.emit(c, '%s%s %s' % (op, SUFFIX[size], mm), DIV_UNDEF)
            # #DE: zero divisor, quotient overflow
            m_over = [(0, 1, 0), (1, 0, 1)] if op == 'div' else \
                [(0, 1, 0), (m, h, m), (0, h, 1), (1, 0, 1)]
            for hi, lo, d in m_over:
                assert div_result(op, size, hi, lo, d) is None
                c = g.new(op, 'de%d' % size)
                src = g.reg(size, (RAX, RDX))
                set_dividend(c, size, hi, lo)
                c.set(src, d)
                c.vector = DE
                g.emit(c, '%s %s' % (op, src))
        c = g.new(op, 'r8h')
        c.set(Reg(RAX, 16), 0x0030)
        reg = g.reg(8, (RAX,), high=True)
        c.set(reg, 7)
        g.emit(c, '%s %s' % (op, reg), DIV_UNDEF)
    c = g.new('div', 'de_rdx')    # div %rdx: the divisor is the high half
    c.set(Reg(RDX, 64), r.bits(64) | 1)
    c.vector = DE
    g.emit(c, 'div %rdx')


SHIFTS = ['shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr']


def shift_counts(size):
    base = [0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255]
    return [n for n in base if n < 256]


def gen_shift(g):
    r = g.rng
    for op in SHIFTS:
        for size in (8, 16, 32, 64):
            sfx = SUFFIX[size]
            # by 1 (D0/D1)
            for _ in range(2):
                c = g.new(op, 'r%d_1' % size)
                reg = g.reg(size)
                c.set(reg, g.value(size))
                want_shift(c, op, reg, 1)
                g.emit(c, '%s %s' % (op, reg), shift_undef(op, size, 1))
            # by imm8 (C0/C1)
            counts = shift_counts(size)
            for n in counts[::2] + [r.below(256)]:
                c = g.new(op, 'r%d_i%d' % (size, n))
                reg = g.reg(size)
                c.set(reg, g.value(size))
                want_shift(c, op, reg, n)
                g.emit(c, '%s %s, %s' % (op, imm(n), reg),
                       shift_undef(op, size, n))
            # by CL (D2/D3)
            for n in counts[1::2] + [r.below(256), 0]:
                c = g.new(op, 'r%d_cl%d' % (size, n))
                reg = g.reg(size, (RCX,))
                c.set(reg, g.value(size))
                c.set(Reg(RCX, 8), n)
                want_shift(c, op, reg, n)
                g.emit(c, '%s %%cl, %s' % (op, reg), shift_undef(op, size, n))
            # memory destination, all three count sources
            for n in (1, r.pick(counts), r.below(256)):
                c = g.new(op, 'm%d_%d' % (size, n))
                m = g.mem(c, size, (RCX,), store=True)
                c.set(m, g.value(size))
                if n == 1:
                    text = '%s%s %s' % (op, sfx, m)
                elif r.chance(1, 2):
                    text = '%s%s %s, %s' % (op, sfx, imm(n), m)
                else:
                    c.set(Reg(RCX, 8), n)
                    text = '%s%s %%cl, %s' % (op, sfx, m)
                g.emit(c, text, shift_undef(op, size, n))
        # AH..BH, the count register shifting itself, the C1 /x 01 encoding
        c = g.new(op, 'r8h_cl')
        reg = g.reg(8, (RCX,), high=True)
        n = r.pick([1, 3, 9])
        c.set(Reg(RCX, 8), n)
        c.set(reg, g.value(8))
        want_shift(c, op, reg, n)
        g.emit(c, '%s %%cl, %s' % (op, reg), shift_undef(op, 8, n))
        c = g.new(op, 'cl_cl')
        n = r.pick([1, 4, 7, 33])
        c.set(Reg(RCX, 8), n)
        want_shift(c, op, Reg(RCX, 8), n)
        g.emit(c, '%s %%cl, %%cl' % op, shift_undef(op, 8, n))
        c = g.new(op, 'c1_count1')
        sub = SHIFTS.index(op)
        reg_field = [4, 5, 7, 0, 1, 2, 3][sub]
        want_shift(c, op, Reg(RAX, 32), 1)
        g.emit(c, '.byte 0xc1, %#x, 0x01   # %s $1, %%eax (C1 form)'
               % (0xC0 | (reg_field << 3), op), shift_undef(op, 32, 1))


def gen_shxd(g):
    r = g.rng
    for op in ('shld', 'shrd'):
        for size in (16, 32, 64):
            if size == 16:
                imms = [0, 1, 2, 8, 15, 16]
                cls = [0, 1, 15, 16, 32, 33, 47, 48]
            elif size == 32:
                imms = [0, 1, 2, 16, 31, 32, 33]
                cls = [0, 1, 31, 32, 63, r.below(32)]
            else:
                imms = [0, 1, 2, 32, 63, 64, 65]
                cls = [0, 1, 63, 64, 127, r.below(64)]
            for n in imms:
                c = g.new(op, 'r%d_i%d' % (size, n))
                dst = g.reg(size)
                src = g.reg(size, (dst.idx,))
                c.set(dst, g.value(size))
                c.set(src, g.value(size))
                c.want(dst.idx, dst.written(c.gpr[dst.idx], shxd_value(
                    op, size, dst.read(c.gpr), src.read(c.gpr), n)))
                g.emit(c, '%s %s, %s, %s' % (op, imm(n), src, dst),
                       shxd_undef(size, n))
            for n in cls:
                c = g.new(op, 'r%d_cl%d' % (size, n))
                dst = g.reg(size, (RCX,))
                src = g.reg(size, (dst.idx, RCX))
                c.set(dst, g.value(size))
                c.set(src, g.value(size))
                c.set(Reg(RCX, 8), n)
                c.want(dst.idx, dst.written(c.gpr[dst.idx], shxd_value(
                    op, size, dst.read(c.gpr), src.read(c.gpr), n)))
                g.emit(c, '%s %%cl, %s, %s' % (op, src, dst),
                       shxd_undef(size, n))
            for n in (r.pick(imms), r.pick(cls)):
                c = g.new(op, 'm%d_%d' % (size, n))
                src = g.reg(size, (RCX,))
                m = g.mem(c, size, (RCX, src.idx), store=True)
                c.set(m, g.value(size))
                if r.chance(1, 2):
                    text = '%s %s, %s, %s' % (op, imm(n), src, m)
                else:
                    c.set(Reg(RCX, 8), n)
                    text = '%s %%cl, %s, %s' % (op, src, m)
                g.emit(c, text, shxd_undef(size, n))


def want_bt(c, op, dst, n):
    """BT leaves its operand alone; BTS/BTR/BTC write it back."""
    v, bit = dst.read(c.gpr), 1 << (n % dst.size)
    if op == 'bt':
        c.want(dst.idx, c.gpr[dst.idx])
        return
    v = v | bit if op == 'bts' else v & ~bit if op == 'btr' else v ^ bit
    c.want(dst.idx, dst.written(c.gpr[dst.idx], v))


def gen_bt(g):
    r = g.rng
    for op in ('bt', 'bts', 'btr', 'btc'):
        for size in (16, 32, 64):
            sfx = SUFFIX[size]
            for n in (0, 1, size - 1, size, size + 1, r.below(1 << 15)):
                c = g.new(op, 'r%d_r%d' % (size, size))
                dst = g.reg(size)
                idx = g.reg(size, (dst.idx,))
                c.set(dst, g.value(size))
                c.set(idx, n)
                want_bt(c, op, dst, n)
                g.emit(c, '%s %s, %s' % (op, idx, dst), BT_UNDEF)
            for n in (0, size - 1, size + 3, 255):
                c = g.new(op, 'r%d_i' % size)
                dst = g.reg(size)
                c.set(dst, g.value(size))
                want_bt(c, op, dst, n)
                g.emit(c, '%s%s %s, %s' % (op, sfx, imm(n), dst), BT_UNDEF)
            for n in (5, 200):
                c = g.new(op, 'm%d_i' % size)
                m = g.mem(c, size, store=True)
                c.set(m, g.value(size))
                g.emit(c, '%s%s %s, %s' % (op, sfx, imm(n), m), BT_UNDEF)
            # a register bit offset reaches anywhere, backwards too
            for n in (3, size + 5, 200, 1000, -1, -77, r.between(-8000, 8000)):
                c = g.new(op, 'm%d_r%d' % (size, size))
                base = g.reg(64)
                idx = g.reg(size, (base.idx,))
                start = 2048 + r.between(-64, 64)
                unit = size // 8
                lo_bits = n & mask(size)
                c.set(idx, lo_bits)   # bits above the size stay random
                c.gpr[base.idx] = SNIPPET_DATA + start
                off = start + unit * (sext(lo_bits, size) // size)
                assert 0 <= off <= DATA_SIZE - unit
                c.poke(off, g.value(size), unit)
                g.emit(c, '%s %s, (%s)' % (op, idx, base), BT_UNDEF)
        # LOCK'd forms on memory
        if op != 'bt':
            for size in (16, 32, 64):
                c = g.new(op, 'lock_m%d_r%d' % (size, size))
                base = g.reg(64)
                idx = g.reg(size, (base.idx,))
                c.set(idx, r.between(-500, 500) & mask(size))
                c.gpr[base.idx] = SNIPPET_DATA + 2048   # stays aligned
                g.emit(c, 'lock %s %s, (%s)' % (op, idx, base), BT_UNDEF)
                c = g.new(op, 'lock_m%d_i' % size)
                m = g.mem(c, size, store=True, align=size // 8)
                g.emit(c, 'lock %s%s %s, %s' % (op, SUFFIX[size],
                                                imm(r.below(64)), m), BT_UNDEF)


def bit_results(op, size, v):
    """The destination for BSF/BSR/TZCNT/LZCNT/POPCNT of @v, or None."""
    if op == 'popcnt':
        return bin(v).count('1')
    if op == 'tzcnt':
        return size if v == 0 else (v & -v).bit_length() - 1
    if op == 'lzcnt':
        return size - v.bit_length()
    if v == 0:
        return None
    return (v & -v).bit_length() - 1 if op == 'bsf' else v.bit_length() - 1


def gen_bitscan(g):
    r = g.rng
    undef = {'bsf': BSF_UNDEF, 'bsr': BSF_UNDEF, 'tzcnt': CNT_UNDEF,
             'lzcnt': CNT_UNDEF, 'popcnt': 0}
    for op in ('bsf', 'bsr', 'tzcnt', 'lzcnt', 'popcnt'):
        for size in (16, 32, 64):
            vals = [0, 1, 1 << (size - 1), mask(size), 0x100,
                    1 << r.below(size), g.value(size), r.bits(size)]
            for v in vals:
                c = g.new(op, 'r%d_r%d' % (size, size))
                dst = g.reg(size)
                src = g.reg(size, (dst.idx,))
                c.set(src, v)
                res = bit_results(op, size, v)
                if res is None:
                    # Zero source: Intel calls the destination undefined;
                    # CPUs keep it, but a 32-bit one may clear bits 63:32.
                    # With those already clear both behaviours agree.
                    if size == 32:
                        c.gpr[dst.idx] &= mask(32)
                    c.want(dst.idx, c.gpr[dst.idx])
                else:
                    c.want(dst.idx, dst.written(c.gpr[dst.idx], res)
                           if size == 16 else res)
                g.emit(c, '%s %s, %s' % (op, src, dst), undef[op])
            for v in (0, r.bits(size)):
                c = g.new(op, 'r%d_m%d' % (size, size))
                dst = g.reg(size)
                m = g.mem(c, size, (dst.idx,))
                c.set(m, v)
                if v == 0 and size == 32:
                    c.gpr[dst.idx] &= mask(32)
                g.emit(c, '%s %s, %s' % (op, m, dst), undef[op])


def gen_bswap(g):
    for size in (32, 64):
        for i in range(16):
            if i == RSP:
                continue
            c = g.new('bswap', 'r%d' % size)
            reg = Reg(i, size)
            v = g.value(size)
            c.set(reg, v)
            c.want(i, int.from_bytes(v.to_bytes(size // 8, 'little'), 'big'))
            g.emit(c, 'bswap %s' % reg)


def flags_for(g, cc, want):
    """Random arithmetic flags under which condition @cc is @want."""
    while True:
        f = 0x2 | (g.rng.u64() & ARITH)
        if cond(cc, f) == want:
            return f


# Sequences of flag producers ending in a flag consumer: what the software
# CPU computes lazily (flags.h) must be what the last producers left, for
# every consumer: the whole of RFLAGS, a condition, or CF alone.
SEQ_PRODUCERS = ('add', 'sub', 'cmp', 'and', 'or', 'xor', 'test', 'adc', 'sbb',
                 'inc', 'dec', 'neg', 'not')
LOGIC = ('and', 'or', 'xor', 'test')
AF_BIT = 0x10


def seq_producer(g, c, used):
    op = g.rng.pick(SEQ_PRODUCERS)
    size = g.rng.pick((8, 16, 32, 64, 64, 32))
    dst = g.reg(size, used, legacy=size == 8)
    c.set(dst, g.value(size))
    if op in ('inc', 'dec', 'neg', 'not'):
        c.asm('%s %s' % (op, dst))
    else:
        src = g.reg(size, used + (dst.idx,), legacy=size == 8)
        c.set(src, g.value(size))
        c.asm('%s %s, %s' % (op, src, dst))
    return op


def gen_flagseq(g):
    for n in range(400):
        c = g.new('flagseq', 'seq%d' % n)
        used = (RSP, RAX)
        last_af = None  # the producer that last wrote AF
        for _ in range(g.rng.between(2, 5)):
            op = seq_producer(g, c, used)
            if op != 'not':
                last_af = op
        kind = n % 4
        if kind == 0:
            # The six arithmetic flags through PUSHF (IF differs between
            # the references), AF dropped where the last writer left it
            # undefined: the register is compared, not the flags.
            keep = 0xcd5 & ~AF_BIT if last_af in LOGIC else 0xcd5
            c.asm('pushfq', 'pop %rax', 'and $%d, %%eax' % keep)
            g.emit(c, 'nop', undef=AF_BIT)
        elif kind == 1:
            cc = g.rng.pick(CONDS)
            g.emit(c, 'set%s %%al' % cc, undef=AF_BIT if last_af in LOGIC else 0)
        elif kind == 2:
            cc = g.rng.pick(CONDS)
            c.asm('mov $1, %eax', 'j%s 1f' % cc, 'mov $2, %eax')
            g.emit(c, '1:', undef=AF_BIT if last_af in LOGIC else 0)
        else:
            g.emit(c, 'adc $0, %rax', undef=0)


def gen_setcc(g):
    for cc in CONDS:
        for want in (True, False):
            for form in ('r8', 'r8h', 'r8x', 'm8'):
                c = g.new('set' + cc, '%s_%s' % (form, 't' if want else 'f'))
                c.rflags = flags_for(g, cc, want)
                if form == 'm8':
                    dst = g.mem(c, 8, store=True)
                    c.poke(dst.off, 0x5A, 1)
                else:
                    dst = g.reg(8, high=form == 'r8h', legacy=form == 'r8',
                                rex=form == 'r8x')
                    c.want(dst.idx, dst.written(c.gpr[dst.idx], int(want)))
                g.emit(c, 'set%s %s' % (cc, dst))


def gen_cmovcc(g):
    for cc in CONDS:
        for want in (True, False):
            for form in ('r16', 'r32', 'r64', 'm32', 'm64'):
                size = int(form[1:])
                c = g.new('cmov' + cc, '%s_%s' % (form, 't' if want else 'f'))
                c.rflags = flags_for(g, cc, want)
                dst = g.reg(size)
                if form[0] == 'm':
                    src = g.mem(c, size, (dst.idx,))
                    c.set(src, g.value(size))
                else:
                    src = g.reg(size, (dst.idx,))
                moved = c.get(src) if want else dst.read(c.gpr)
                # a 32-bit CMOV writes its destination even when false
                c.want(dst.idx, dst.written(c.gpr[dst.idx], moved)
                       if size == 16 else moved)
                g.emit(c, 'cmov%s %s, %s' % (cc, src, dst))


def gen_jcc(g):
    for cc in CONDS:
        for want in (True, False):
            for near in (False, True):
                c = g.new('j' + cc, '%s_%s' % ('near' if near else 'short',
                                               't' if want else 'f'))
                c.rflags = flags_for(g, cc, want)
                c.want(RAX, c.gpr[RAX] if want else 1)
                g.emit(c, '%sj%s @1' % ('{disp32} ' if near else '', cc))
                c.asm('mov $1, %eax', '@1:')
        # backwards: jump forward, then back with the condition
        want = g.rng.chance(1, 2)
        c = g.new('j' + cc, 'back_%s' % ('t' if want else 'f'))
        c.rflags = flags_for(g, cc, want)
        c.want(RCX, 2 if want else c.gpr[RCX])
        c.want(RAX, c.gpr[RAX] if want else 1)
        c.asm('jmp @2', '@1:', 'mov $2, %ecx', 'jmp @3', '@2:',
              'j%s @1' % cc, 'mov $1, %eax', '@3:')
    # branch hints (2e/3e) are ignored
    for pfx in ('0x2e', '0x3e'):
        c = g.new('jcc', 'hint')
        c.want(RAX, c.gpr[RAX] if cond('e', c.rflags) else 1)
        c.asm('.byte %s' % pfx, 'je @1', 'mov $1, %eax', '@1:')


def gen_loop(g):
    r = g.rng
    for _ in range(4):
        n = r.between(1, 9)
        c = g.new('loop', 'count')
        c.gpr[RCX] = n
        c.want(RCX, 0)
        c.want(RAX, (c.gpr[RAX] + n) & mask(32))
        c.asm('@1:', 'inc %eax', 'loop @1')
    for op in ('loope', 'loopne'):
        for _ in range(3):
            c = g.new(op, 'dec')
            rcx, ebx = r.between(1, 12), r.between(0, 6)
            c.gpr[RCX], c.gpr[RBX] = rcx, (c.gpr[RBX] & ~mask(32)) | ebx
            while True:             # the loop, as the CPU runs it
                ebx = (ebx - 1) & mask(32)
                rcx -= 1
                zf = ebx == 0
                if rcx == 0 or zf != (op == 'loope'):
                    break
            c.want(RCX, rcx)
            c.want(RBX, ebx)
            c.asm('@1:', 'dec %ebx', '%s @1' % op)
    for rcx in (0, 1, 1 << 32, mask(64)):
        c = g.new('jrcxz', 'rcx%#x' % rcx)
        c.gpr[RCX] = rcx
        c.want(RAX, c.gpr[RAX] if rcx == 0 else 1)
        c.asm('jrcxz @1', 'mov $1, %eax', '@1:')
        c = g.new('jecxz', 'rcx%#x' % rcx)
        c.gpr[RCX] = rcx
        c.want(RAX, c.gpr[RAX] if rcx & mask(32) == 0 else 1)
        c.asm('jecxz @1', 'mov $1, %eax', '@1:')
    c = g.new('loop', 'addr32')   # counts in ECX
    c.gpr[RCX] = (r.bits(32) << 32) | 3
    c.want(RAX, (c.gpr[RAX] + 3) & mask(32))
    c.asm('@1:', 'inc %eax', 'addr32 loop @1')


def gen_jmp_call(g):
    c = g.new('jmp', 'short')
    c.want(RAX, c.gpr[RAX])
    c.asm('jmp @1', 'mov $1, %eax', '@1:')
    c = g.new('jmp', 'near')
    c.want(RAX, c.gpr[RAX])
    c.asm('{disp32} jmp @1', 'mov $1, %eax', '@1:')
    for reg in ('rbx', 'r11', 'rax'):
        c = g.new('jmp', 'reg')
        c.asm('lea @1(%%rip), %%%s' % reg, 'jmp *%%%s' % reg,
              'mov $1, %ecx', '@1:')
    for _ in range(2):
        c = g.new('jmp', 'mem')
        m = g.mem(c, 64, (RCX,), store=True, form='disp8')
        c.asm('lea @1(%rip), %rcx', 'mov %%rcx, %s' % m, 'jmp *%s' % m,
              'mov $1, %edx', '@1:')
    c = g.new('jmp', 'rip')
    c.asm('jmp *@2(%rip)', 'mov $1, %eax', '@1:', 'jmp @3', '@2:',
          '.quad @1 - @S + %#x' % SNIPPET_CODE, '@3:')

    c = g.new('call', 'pop')       # the pushed return address, absolute
    c.want(RBX, SNIPPET_CODE + 5)
    c.want(RSP, c.gpr[RSP])
    c.asm('call @1', '@1:', 'pop %rbx')
    c = g.new('call', 'ret')
    c.want(RSP, c.gpr[RSP])
    c.asm('call @1', 'jmp @2', '@1:', 'mov %rsp, %rax', 'ret', '@2:')
    c.want(RAX, c.gpr[RSP] - 8)
    for n in (0, 8, 16, 0x100):
        c = g.new('ret', 'imm%d' % n)
        c.want(RSP, c.gpr[RSP] + n)
        c.asm('call @1', 'jmp @2', '@1:', 'ret $%d' % n, '@2:')
    c = g.new('ret', 'pushed')
    c.asm('lea @1(%rip), %rax', 'push %rax', 'ret', 'mov $1, %ecx', '@1:')
    for reg in ('rbx', 'r12', 'rsi'):
        c = g.new('call', 'reg')
        c.want(RSP, c.gpr[RSP])
        c.asm('lea @1(%%rip), %%%s' % reg, 'call *%%%s' % reg, 'jmp @2',
              '@1:', 'pop %rcx', 'push %rcx', 'ret', '@2:')
    for _ in range(2):
        c = g.new('call', 'mem')
        m = g.mem(c, 64, (RCX, RDX), store=True, form='disp8')
        c.want(RSP, c.gpr[RSP])
        c.asm('lea @1(%rip), %rcx', 'mov %%rcx, %s' % m, 'call *%s' % m,
              'jmp @2', '@1:', 'mov (%rsp), %rdx', 'ret', '@2:')
    c = g.new('call', 'nested')
    c.want(RSP, c.gpr[RSP])
    c.want(RAX, 3)
    c.asm('xor %eax, %eax', 'call @1', 'jmp @3', '@1:', 'inc %eax',
          'call @2', 'inc %eax', 'ret', '@2:', 'inc %eax', 'ret', '@3:')
    c.undef = 0     # the incs define the AF the xor left undefined
    c = g.new('call', 'rip_mem')
    c.want(RSP, c.gpr[RSP])
    c.asm('call *@2(%rip)', 'jmp @3', '@1:', 'ret', '@2:',
          '.quad @1 - @S + %#x' % SNIPPET_CODE, '@3:')


def gen_stack(g):
    r = g.rng
    for i in range(16):
        if i == RSP:
            continue
        c = g.new('push', 'r64')
        dst = g.reg(64, (i,))
        c.want(dst.idx, c.gpr[i])
        c.asm('push %s' % Reg(i, 64), 'pop %s' % dst)
    for _ in range(3):
        c = g.new('push', 'r16')
        src, dst = g.reg(16), g.reg(16)
        c.want(RSP, c.gpr[RSP])
        c.want(dst.idx, dst.written(c.gpr[dst.idx], src.read(c.gpr)))
        c.asm('push %s' % src, 'pop %s' % dst)
    for v in (0, 1, -1, 0x7F, -0x80, 0x12345678, -0x80000000, 0x7FFFFFFF):
        c = g.new('push', 'imm')
        c.want(RAX, v)
        c.asm('pushq %s' % imm(v), 'pop %rax')
    for v in (0x1234, -2):
        c = g.new('push', 'imm16')
        c.want(RAX, Reg(RAX, 16).written(c.gpr[RAX], v))
        c.asm('pushw %s' % imm(v), 'pop %ax')
    for size in (16, 64):
        for _ in range(3):
            c = g.new('push', 'm%d' % size)
            m = g.mem(c, size, (RAX,))
            v = g.value(size)
            c.set(m, v)
            c.want(RAX, Reg(RAX, size).written(c.gpr[RAX], v))
            c.asm('push%s %s' % (SUFFIX[size], m),
                  'pop %s' % Reg(RAX, size))
            c = g.new('pop', 'm%d' % size)
            m = g.mem(c, size, (RAX,), store=True)
            c.asm('push %s' % Reg(RAX, size),
                  'pop%s %s' % (SUFFIX[size], m))
    c = g.new('push', 'rsp')      # pushes the value before the push
    c.want(RAX, c.gpr[RSP])
    c.asm('push %rsp', 'pop %rax')
    c = g.new('pop', 'rsp')       # RSP becomes the popped value
    c.gpr[RBX] = SNIPPET_STACK - 0x800 - 8 * r.below(32)
    c.want(RSP, c.gpr[RBX])
    c.asm('push %rbx', 'pop %rsp')
    c = g.new('pop', 'm_rsp')     # the address uses RSP after the pop
    c.want(RCX, c.gpr[RBX])
    c.want(RSP, c.gpr[RSP])
    c.asm('push %rax', 'push %rbx', 'popq (%rsp)', 'pop %rcx')
    c = g.new('push', 'm_rsp')    # the address uses RSP before the push
    c.want(RCX, c.gpr[RAX])
    c.asm('push %rax', 'pushq (%rsp)', 'pop %rcx', 'pop %rdx')
    for pfx in ('0x48', '0x41', '0x66'):
        c = g.new('push', 'prefix' + pfx[2:])
        c.asm('.byte %s, 0x50   # push with a prefix' % pfx,
              'pop %rcx' if pfx != '0x66' else 'pop %cx')
    # LEAVE
    c = g.new('leave', 'frame')
    c.want(RSP, c.gpr[RSP])
    c.want(RBP, c.gpr[RBP])
    c.asm('push %rbp', 'mov %rsp, %rbp', 'sub $48, %rsp', 'leave')
    for _ in range(2):
        c = g.new('leave', 'pop')
        c.want(RBP, c.gpr[RAX])
        c.want(RSP, c.gpr[RSP])
        c.asm('push %rax', 'push %rbx', 'lea 8(%rsp), %rbp', 'leave')
    c = g.new('leave', 'w')        # pops 16 bits into BP
    c.want(RSP, c.gpr[RSP])
    c.asm('push %rax', 'push %rbx', 'lea 8(%rsp), %rbp', 'leavew',
          'lea 6(%rsp), %rsp')
    c.want(RBP, Reg(RBP, 16).written(c.gpr[RSP] - 8, c.gpr[RAX]))


def gen_convert(g):
    # (Intel name, AT&T name, source width)
    ops = [('cbw', 'cbtw', 8), ('cwde', 'cwtl', 16), ('cdqe', 'cltq', 32),
           ('cwd', 'cwtd', 16), ('cdq', 'cltd', 32), ('cqo', 'cqto', 64)]
    for name, op, size in ops:
        m, h = mask(size), 1 << (size - 1)
        for v in (0, 1, h - 1, h, m, g.value(size), g.value(size)):
            c = g.new(name, None)
            c.set(Reg(RAX, size), v)
            if name in ('cbw', 'cwde', 'cdqe'):
                wide = Reg(RAX, 2 * size)
                c.want(RAX, wide.written(c.gpr[RAX], sext(v, size)))
            else:
                hi = Reg(RDX, size)
                c.want(RDX, hi.written(c.gpr[RDX], -(v >> (size - 1))))
            g.emit(c, op)


def gen_mov(g):
    r = g.rng
    for size in (8, 16, 32, 64):
        for _ in range(5):
            c = g.new('mov', 'r%d_r%d' % (size, size))
            dst = g.reg(size)
            src = g.reg(size, (dst.idx,))
            c.set(src, g.value(size))
            c.want(dst.idx, dst.written(c.gpr[dst.idx], src.read(c.gpr)))
            pfx = '{load} ' if r.chance(1, 3) else ''
            g.emit(c, '%smov %s, %s' % (pfx, src, dst))
        for _ in range(3):
            c = g.new('mov', 'r%d_m%d' % (size, size))
            dst = g.reg(size)
            m = g.mem(c, size, (dst.idx,))
            v = g.value(size)
            c.set(m, v)
            c.want(dst.idx, dst.written(c.gpr[dst.idx], v))
            g.emit(c, 'mov %s, %s' % (m, dst))
            c = g.new('mov', 'm%d_r%d' % (size, size))
            src = g.reg(size)
            m = g.mem(c, size, (src.idx,), store=True)
            g.emit(c, 'mov %s, %s' % (src, m))
            c = g.new('mov', 'm%d_i' % size)
            m = g.mem(c, size, store=True)
            g.emit(c, 'mov%s %s, %s' % (SUFFIX[size],
                                        imm(sext(g.value(min(size, 32)),
                                                 min(size, 32))), m))
        for v in corners(size)[:8]:
            c = g.new('mov', 'r%d_i' % size)
            dst = g.reg(size)
            c.want(dst.idx, dst.written(c.gpr[dst.idx], v))
            g.emit(c, 'mov %s, %s' % (imm(v), dst) if size < 64 else
                   'movabs %s, %s' % (imm(v), dst))
    # 64-bit destination, 32-bit immediate sign-extended (C7 /0)
    for v in (0, -1, 0x7FFFFFFF, -0x80000000, r.between(-2**31, 2**31 - 1)):
        c = g.new('mov', 'r64_i32')
        dst = g.reg(64)
        c.want(dst.idx, v)
        g.emit(c, 'movq %s, %s' % (imm(v), dst))
    # AH..BH with each other and with AL..BL
    for _ in range(6):
        c = g.new('mov', 'r8h')
        dst = g.reg(8, high=r.chance(1, 2), legacy=True)
        src = g.reg(8, (dst.idx,), high=not dst.high or r.chance(1, 2),
                    legacy=True)
        c.want(dst.idx, dst.written(c.gpr[dst.idx], src.read(c.gpr)))
        g.emit(c, 'mov %s, %s' % (src, dst))
    c = g.new('mov', 'al_ah')     # the same register, both halves
    c.want(RAX, Reg(RAX, 8, True).written(c.gpr[RAX], c.gpr[RAX]))
    g.emit(c, 'mov %al, %ah')
    c = g.new('mov', 'm8_r8h')
    src = g.reg(8, high=True)
    m = g.mem(c, 8, (src.idx,), legacy=True, store=True, form='disp8')
    g.emit(c, 'mov %s, %s' % (src, m))
    # moffs: A0-A3 with a 64-bit absolute address
    for size in (8, 16, 32, 64):
        off = r.below(DATA_SIZE - 8)
        c = g.new('mov', 'moffs%d_load' % size)
        acc = Reg(RAX, size)
        v = g.value(size)
        c.poke(off, v, size // 8)
        c.want(RAX, acc.written(c.gpr[RAX], v))
        g.emit(c, 'movabs %#x, %s' % (SNIPPET_DATA + off, acc))
        c = g.new('mov', 'moffs%d_store' % size)
        g.emit(c, 'movabs %s, %#x' % (acc, SNIPPET_DATA + off))
    # every addressing form on a 64-bit load
    for form in ('base', 'disp8', 'disp32', 'sib', 'sibdisp', 'abs', 'rip',
                 'addr32', 'seg'):
        for _ in range(3):
            c = g.new('mov', 'addr_' + form)
            dst = g.reg(64)
            m = g.mem(c, 64, (dst.idx,), form=form)
            v = g.value(64)
            c.set(m, v)
            c.want(dst.idx, v)
            g.emit(c, 'mov %s, %s' % (m, dst))
    # rbp/r13 bases need a displacement byte, rsp/r12 a SIB byte
    for base in (RBP, 13, 12):
        c = g.new('mov', 'base_%s' % str(Reg(base, 64))[1:])
        off = r.below(DATA_SIZE - 8) & ~7
        c.gpr[base] = SNIPPET_DATA + off
        v = g.value(64)
        c.poke(off, v, 8)
        c.want(RAX, v)
        g.emit(c, 'mov (%s), %%rax' % Reg(base, 64))
    c = g.new('mov', 'addr32_wrap')  # base + index carries out of 32 bits
    k = r.between(0x100, 0xFFFF)
    off = r.below(DATA_SIZE - 4)
    c.gpr[RBX] = (r.bits(32) << 32) | ((-k) & mask(32))
    c.gpr[RSI] = (r.bits(32) << 32) | (SNIPPET_DATA + off + k)
    v = g.value(32)
    c.poke(off, v, 4)
    c.want(RAX, v)
    g.emit(c, 'mov (%ebx,%esi), %eax')


def gen_movx(g):
    ops = [('movzbw', 8, 16), ('movzbl', 8, 32), ('movzbq', 8, 64),
           ('movzwl', 16, 32), ('movzwq', 16, 64), ('movsbw', 8, 16),
           ('movsbl', 8, 32), ('movsbq', 8, 64), ('movswl', 16, 32),
           ('movswq', 16, 64), ('movslq', 32, 64)]
    for op, ss, ds in ops:
        signed = op.startswith('movs')
        fam = 'movsxd' if op == 'movslq' else 'movsx' if signed else 'movzx'
        for v in (0, 1, mask(ss), 1 << (ss - 1), (1 << (ss - 1)) - 1,
                  g.value(ss), g.value(ss)):
            c = g.new(fam, op)
            dst = g.reg(ds)
            src = g.reg(ss, (dst.idx,))
            c.set(src, v)
            res = (sext(v, ss) if signed else v) & mask(ds)
            c.want(dst.idx, dst.written(c.gpr[dst.idx], res))
            g.emit(c, '%s %s, %s' % (op, src, dst))
        for _ in range(3):
            c = g.new(fam, op + '_m')
            dst = g.reg(ds)
            m = g.mem(c, ss, (dst.idx,))
            v = g.value(ss)
            c.set(m, v)
            res = (sext(v, ss) if signed else v) & mask(ds)
            c.want(dst.idx, dst.written(c.gpr[dst.idx], res))
            g.emit(c, '%s %s, %s' % (op, m, dst))
        if ss == 8 and ds < 64:
            c = g.new(fam, op + '_r8h')
            dst = g.reg(ds, legacy=True)
            src = g.reg(8, high=True)
            v = src.read(c.gpr)
            res = (sext(v, 8) if signed else v) & mask(ds)
            c.want(dst.idx, dst.written(c.gpr[dst.idx], res))
            g.emit(c, '%s %s, %s' % (op, src, dst))
    # MOVSXD without REX.W: a plain 32-bit move (Intel discourages it)
    c = g.new('movsxd', 'r32')
    c.want(RAX, c.gpr[RCX] & mask(32))
    g.emit(c, '.byte 0x63, 0xc1   # movsxd %ecx, %eax')


def lea_value(c, base, index, scale, d, asize):
    a = d
    if base is not None:
        a += c.gpr[base]
    if index is not None:
        a += c.gpr[index] * scale
    return a & mask(asize)


def gen_lea(g):
    r = g.rng
    for dsize in (16, 32, 64):
        for asize in (32, 64):
            for shape in ('b', 'bd8', 'bd32', 'bis', 'bisd', 'is', 'd'):
                c = g.new('lea', 'r%d_a%d_%s' % (dsize, asize, shape))
                dst = g.reg(dsize)
                base = g.reg(64).idx if 'b' in shape else None
                index = g.reg(64, (base,) if base is not None else ()).idx \
                    if 'i' in shape else None
                scale = r.pick([1, 2, 4, 8])
                d = {'bd8': r.between(-128, 127), 'bisd': r.between(-128, 127),
                     'bd32': r.between(-2**31, 2**31 - 1),
                     'is': r.between(-2**31, 2**31 - 1),
                     'd': r.between(0, 2**31 - 1)}.get(shape, 0)
                b = str(Reg(base, asize)) if base is not None else ''
                i = ',%s,%d' % (Reg(index, asize), scale) \
                    if index is not None else ''
                text = '%s(%s%s)' % (disp(d) if d else '', b, i)
                # 32-bit registers imply the 67 prefix; a bare displacement
                # needs it spelt out
                pfx = 'addr32 ' if shape == 'd' and asize == 32 else ''
                if shape == 'd':
                    text = disp(d)
                g.emit(c, '%slea %s, %s' % (pfx, text, dst))
                v = lea_value(c, base, index, scale, d, asize)
                c.want(dst.idx, dst.written(c.gpr[dst.idx], v)
                       if dsize == 16 else v & mask(dsize))
    for base in (RSP, RBP, 12, 13):
        c = g.new('lea', 'base_%s' % str(Reg(base, 64))[1:])
        d = r.between(-64, 64)
        dst = g.reg(64, (base,))
        c.want(dst.idx, (c.gpr[base] + d) & mask(64))
        g.emit(c, 'lea %s(%s), %s' % (disp(d), Reg(base, 64), dst))
    c = g.new('lea', 'rip')
    c.want(RAX, SNIPPET_CODE + 0x1234)
    g.emit(c, 'lea @S+0x1234(%rip), %rax')


def gen_xchg(g):
    r = g.rng
    for size in (8, 16, 32, 64):
        for _ in range(3):
            c = g.new('xchg', 'r%d_r%d' % (size, size))
            a = g.reg(size)
            b = g.reg(size, (a.idx,))
            va, vb = a.read(c.gpr), b.read(c.gpr)
            c.want(a.idx, a.written(c.gpr[a.idx], vb))
            c.want(b.idx, b.written(c.gpr[b.idx], va))
            g.emit(c, 'xchg %s, %s' % (a, b))
        for _ in range(2):
            c = g.new('xchg', 'm%d_r%d' % (size, size))
            a = g.reg(size)
            # XCHG with memory is always locked: keep it inside a line
            m = g.mem(c, size, (a.idx,), store=True, align=size // 8)
            v = g.value(size)
            c.set(m, v)
            c.want(a.idx, a.written(c.gpr[a.idx], v))
            g.emit(c, '%sxchg %s, %s' % ('lock ' if r.chance(1, 3) else '',
                                         a, m))
    c = g.new('xchg', 'r8h')
    a = g.reg(8, high=True)
    b = g.reg(8, (a.idx,), legacy=True)
    g.emit(c, 'xchg %s, %s' % (a, b))
    # 90 is NOP, but 87 c0 and 41 90 are real exchanges that zero-extend
    c = g.new('xchg', 'eax_eax')
    c.want(RAX, c.gpr[RAX] & mask(32))
    g.emit(c, 'xchg %eax, %eax')
    c = g.new('xchg', 'r8d_eax')
    c.want(RAX, c.gpr[8] & mask(32))
    c.want(8, c.gpr[RAX] & mask(32))
    g.emit(c, '.byte 0x41, 0x90   # xchg %eax, %r8d')
    c = g.new('xchg', 'rax_rax')
    c.want(RAX, c.gpr[RAX])
    g.emit(c, '.byte 0x48, 0x90   # rex.w nop')


def gen_cmpxchg(g):
    r = g.rng
    for size in (8, 16, 32, 64):
        acc = Reg(RAX, size)
        for ok in (True, False):
            for _ in range(2):
                c = g.new('cmpxchg', 'r%d_r%d_%s' % (size, size,
                                                     'eq' if ok else 'ne'))
                dst = g.reg(size, (RAX,))
                src = g.reg(size, (RAX, dst.idx))
                v = g.value(size)
                c.set(dst, v)
                c.set(acc, v if ok else v ^ (1 + r.below(mask(size))))
                if not ok:
                    c.want(RAX, acc.written(c.gpr[RAX], v)
                           if size < 32 else v)
                else:
                    c.want(dst.idx, dst.written(c.gpr[dst.idx],
                                                src.read(c.gpr))
                           if size < 32 else src.read(c.gpr))
                g.emit(c, 'cmpxchg %s, %s' % (src, dst))
            for lock in (False, True):
                c = g.new('cmpxchg', '%sm%d_r%d_%s' % (
                    'lock_' if lock else '', size, size, 'eq' if ok else 'ne'))
                src = g.reg(size, (RAX,))
                m = g.mem(c, size, (RAX, src.idx), store=True,
                          align=size // 8 if lock else None)
                v = g.value(size)
                c.set(m, v)
                c.set(acc, v if ok else v ^ (1 + r.below(mask(size))))
                if not ok:
                    c.want(RAX, acc.written(c.gpr[RAX], v)
                           if size < 32 else v)
                pfx = 'lock ' if lock else ''
                g.emit(c, '%scmpxchg %s, %s' % (pfx, src, m))
    c = g.new('cmpxchg', 'r8h')
    src = g.reg(8, (RAX,), high=True)
    g.emit(c, 'cmpxchg %s, %s' % (src, g.reg(8, (RAX,), legacy=True)))
    c = g.new('cmpxchg', 'acc_dst')   # compares EAX with itself
    g.emit(c, 'cmpxchg %ebx, %eax')
    for size in (8, 16, 32, 64):
        for _ in range(2):
            c = g.new('xadd', 'r%d_r%d' % (size, size))
            dst = g.reg(size)
            src = g.reg(size, (dst.idx,))
            vd, vs = dst.read(c.gpr), src.read(c.gpr)
            c.want(src.idx, src.written(c.gpr[src.idx], vd))
            c.want(dst.idx, dst.written(c.gpr[dst.idx], vd + vs))
            g.emit(c, 'xadd %s, %s' % (src, dst))
        for lock in (False, True):
            c = g.new('xadd', '%sm%d_r%d' % ('lock_' if lock else '', size,
                                             size))
            src = g.reg(size)
            m = g.mem(c, size, (src.idx,), store=True,
                      align=size // 8 if lock else None)
            v = g.value(size)
            c.set(m, v)
            c.want(src.idx, src.written(c.gpr[src.idx], v))
            g.emit(c, '%sxadd %s, %s' % ('lock ' if lock else '', src, m))
    c = g.new('cmpxchg', 'cmpxchg16b')
    off = r.below(DATA_SIZE // 16) * 16
    c.gpr[RSI] = SNIPPET_DATA + off
    c.poke(off, c.gpr[RAX], 8)
    c.poke(off + 8, c.gpr[RDX], 8)
    g.emit(c, 'lock cmpxchg16b (%rsi)')
    c = g.new('cmpxchg', 'cmpxchg8b')
    m = g.mem(c, 64, (RAX, RDX, RBX, RCX), store=True)
    g.emit(c, 'cmpxchg8b %s' % m)


def gen_lock(g):
    """LOCK'd read-modify-write ALU operations on memory."""
    r = g.rng
    for op in ['add', 'adc', 'sub', 'sbb', 'and', 'or', 'xor']:
        for size in (8, 16, 32, 64):
            c = g.new('lock', '%s_m%d_r%d' % (op, size, size))
            src = g.reg(size)
            m = g.mem(c, size, (src.idx,), store=True, align=size // 8)
            c.set(m, g.value(size))
            g.emit(c, 'lock %s %s, %s' % (op, src, m), alu_undef(op))
            c = g.new('lock', '%s_m%d_i' % (op, size))
            m = g.mem(c, size, store=True, align=size // 8)
            c.set(m, g.value(size))
            g.emit(c, 'lock %s%s %s, %s' % (op, SUFFIX[size],
                                            imm(r.between(-128, 127)), m),
                   alu_undef(op))
    for op in ('inc', 'dec', 'neg', 'not'):
        for size in (8, 16, 32, 64):
            c = g.new('lock', '%s_m%d' % (op, size))
            m = g.mem(c, size, store=True, align=size // 8)
            c.set(m, g.value(size))
            g.emit(c, 'lock %s%s %s' % (op, SUFFIX[size], m))


def gen_string(g):
    r = g.rng
    for op in ('movs', 'stos', 'lods', 'cmps', 'scas'):
        for size in (8, 16, 32, 64):
            unit = size // 8
            sfx = SUFFIX[size]
            reps = ['rep'] if op in ('movs', 'stos', 'lods') else \
                ['repe', 'repne']
            variants = [('', 1)]
            for rep in reps:
                variants += [(rep, n) for n in (0, 1, 3, 17, r.between(2, 40))]
            for rep, n in variants:
                for down in (False, True):
                    c = g.new(op, '%s%s%s_n%d_%s' % (
                        rep, '_' if rep else '', sfx, n,
                        'df1' if down else 'df0'))
                    g.emit(c, ('%s %s%s' % (rep, op, sfx)).strip())
                    c.flag(DF, down)
                    string_setup(g, c, op, unit, rep, n, down)
    # overlapping copies repeat the first elements (the CPU copies in order)
    for down in (False, True):
        for k in (1, 3):
            c = g.new('movs', 'overlap_k%d_%s' % (k, 'df1' if down else 'df0'))
            n = r.between(8, 40)
            src = r.between(64, 1024)
            c.gpr[RSI] = SNIPPET_DATA + src + (n - 1 if down else 0)
            c.gpr[RDI] = c.gpr[RSI] + (-k if down else k)
            c.gpr[RCX] = n
            c.flag(DF, down)
            g.emit(c, 'rep movsb')
    # 32-bit addressing: ESI/EDI/ECX, the upper halves ignored
    for op in ('rep movsb', 'rep stosl', 'repe cmpsw', 'repne scasb'):
        c = g.new('string', 'addr32_' + op.replace(' ', '_'))
        n = r.between(1, 20)
        upper = r.bits(32) << 32
        c.gpr[RSI] = upper | (SNIPPET_DATA + r.between(0, 1024))
        upper = r.bits(32) << 32
        c.gpr[RDI] = upper | (SNIPPET_DATA + r.between(2048, 3000))
        c.gpr[RCX] = (r.bits(32) << 32) | n
        c.flag(DF, False)
        g.emit(c, 'addr32 ' + op)
    # a REP prefix in front of a 66 prefix, and a redundant one
    c = g.new('string', 'rep_66_stos')
    c.gpr[RDI] = SNIPPET_DATA + 100
    c.gpr[RCX] = 5
    c.flag(DF, False)
    g.emit(c, '.byte 0xf3, 0x66, 0xab   # rep stosw')


def string_setup(g, c, op, unit, rep, n, down):
    """Point RSI/RDI inside the data page for @n elements of @unit bytes,
    and for CMPS/SCAS plant a run of matches that ends where it should."""
    r = g.rng
    span = max(n, 1) * unit
    step = -unit if down else unit

    def region(lo, hi):
        first = r.between(lo, hi - span)
        return first + (span - unit if down else 0)

    src, dst = region(0, 2048), region(2048, DATA_SIZE)
    c.gpr[RSI] = SNIPPET_DATA + src
    c.gpr[RDI] = SNIPPET_DATA + dst
    if rep:
        c.gpr[RCX] = n
    # elements 0..stop-1 keep the REP going, element stop ends it (for
    # MOVS/STOS/LODS, and when stop == n, the count ends it)
    stop = r.below(n + 1) if op in ('cmps', 'scas') and n else n
    done = min(stop + 1, n) if rep else 1
    if rep:
        c.want(RCX, n - done)
    moved = RSI if op == 'lods' else RDI
    c.want(moved, c.gpr[moved] + done * step)
    if op not in ('cmps', 'scas') or n == 0:
        return
    if not rep:
        stop = 0
    key = r.bits(8 * unit)
    if op == 'scas':
        c.set(Reg(RAX, 8 * unit), key)
    for i in range(min(n, stop + 1)):
        ends = i == stop
        equal = (rep == 'repne') == ends if rep else r.chance(1, 2)
        left = r.bits(8 * unit)
        if op == 'scas':
            right = key if equal else (key ^ (1 + r.below(mask(8 * unit))))
            c.poke(dst + i * step, right, unit)
        else:
            right = left if equal else (left ^ (1 << r.below(8 * unit)))
            c.poke(src + i * step, left, unit)
            c.poke(dst + i * step, right, unit)


def gen_nop(g):
    nops = [
        ('nop', '90'), ('xchg %ax, %ax', '66_90'), ('pause', 'pause'),
        ('nopl (%rax)', '0f1f_00'), ('nopl 0(%rax)', '0f1f_40'),
        ('.byte 0x0f, 0x1f, 0x44, 0, 0', '0f1f_44'),
        ('.byte 0x66, 0x0f, 0x1f, 0x44, 0, 0', '66_0f1f_44'),
        ('.byte 0x0f, 0x1f, 0x80, 0, 0, 0, 0', '0f1f_80'),
        ('.byte 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0', '0f1f_84'),
        ('.byte 0x66, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0', '66_0f1f_84'),
        ('.byte 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0', 'cs_0f1f_84'),
        ('.byte 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84,'
         ' 0, 0, 0, 0, 0', '15byte'),
        ('nopw %cx', '0f1f_reg16'), ('nopl %r9d', '0f1f_reg32'),
        ('nopq 0x1234(%rbx,%rcx,8)', '0f1f_any'),
        ('endbr64', 'endbr64'),
        ('prefetcht0 (%rsi)', 'prefetcht0'), ('prefetchnta 8(%rsi)', 'pnta'),
    ]
    for text, tag in nops:
        c = g.new('nop', tag)
        c.gpr[RSI] = SNIPPET_DATA + 64
        g.emit(c, text)
    c = g.new('nop', 'run')
    g.emit(c, 'nop; nop; pause; nop')


def gen_flags(g):
    for op in ('clc', 'stc', 'cmc', 'cld', 'std', 'lahf', 'sahf'):
        for _ in range(3):
            c = g.new(op, None)
            if op == 'cld':
                c.flag(DF, True)
            g.emit(c, op)


def gen_prefix(g):
    """Prefix orderings with a defined meaning."""
    cases = [
        ('0x48, 0x66, 0x01, 0xc8', 'rex_before_66'),  # REX not last: ignored
        ('0x66, 0x48, 0x01, 0xc8', '66_rex_w'),       # REX.W beats 66
        ('0x40, 0x48, 0x01, 0xc8', 'two_rex_w_last'),  # only the last REX
        ('0x48, 0x40, 0x01, 0xc8', 'two_rex_plain_last'),
        ('0x66, 0x66, 0x01, 0xc8', 'two_66'),
        ('0x67, 0x01, 0xc8', '67_no_mem'),            # no memory: ignored
        ('0x2e, 0x01, 0xc8', 'cs_no_mem'),
        ('0x40, 0x88, 0xe0', 'rex_spl'),              # 40: ah becomes spl...
        ('0x88, 0xe0', 'no_rex_ah'),                  # ... without it, ah
        ('0x41, 0x88, 0xc0', 'rex_b_r8b'),
        ('0x26, 0x3e, 0x36, 0x90', 'segs_nop'),
    ]
    for text, tag in cases:
        c = g.new('prefix', tag)
        g.emit(c, '.byte ' + text)
    # segment overrides are ignored for ES/CS/SS/DS in 64-bit mode
    for seg in ('es', 'cs', 'ss', 'ds'):
        c = g.new('prefix', 'seg_' + seg)
        off = g.rng.below(DATA_SIZE - 4)
        c.gpr[RBX] = SNIPPET_DATA + off
        v = g.value(32)
        c.poke(off, v, 4)
        c.want(RAX, v)
        g.emit(c, 'mov %%%s:(%%rbx), %%eax' % seg)


def gen_exceptions(g):
    r = g.rng
    next_page = SNIPPET_DATA + DATA_SIZE

    def exc(tag, vector, *lines, undef=0):
        c = g.new('exc', tag)
        c.vector = vector
        c.asm(*lines)
        c.undef = undef
        return c

    # #UD
    exc('ud2', UD, 'ud2')
    exc('ud2_after', UD, 'inc %eax', 'ud2')
    exc('ud1', UD, 'ud1 %eax, %ecx')
    exc('ud0', UD, '.byte 0x0f, 0xff, 0xc0   # ud0 %eax, %eax')
    for byte, what in ((0x06, 'push_es'), (0x27, 'daa'), (0x37, 'aaa'),
                       (0xCE, 'into'), (0xD6, 'salc'), (0x60, 'pusha')):
        exc(what, UD, '.byte %#x   # invalid in 64-bit mode' % byte)
    exc('op82', UD, '.byte 0x82, 0xc0, 0x01   # add $1, %al via 82')
    exc('lock_reg', UD, '.byte 0xf0, 0x01, 0xc3   # lock add %eax, %ebx')
    exc('lock_nop', UD, '.byte 0xf0, 0x90')
    c = exc('lock_mov', UD, '.byte 0xf0, 0x8b, 0x03   # lock mov (%rbx), %eax')
    c.gpr[RBX] = SNIPPET_DATA
    exc('lea_reg', UD, '.byte 0x8d, 0xc0   # lea with a register operand')
    # #DE
    c = exc('div0', DE, 'xor %edx, %edx', 'div %ecx', undef=AF)
    c.gpr[RCX] = r.bits(64) & ~mask(32)
    c = exc('div0_mem', DE, 'divl (%rsi)')
    c.gpr[RSI] = SNIPPET_DATA + 12
    c.poke(12, 0, 4)
    c = exc('idiv_min', DE, 'idiv %rcx')
    c.gpr[RAX], c.gpr[RDX], c.gpr[RCX] = 1 << 63, mask(64), mask(64)
    # #PF: the page after the data page is never mapped
    for size, delta in ((8, 0), (32, 0x18), (64, 0x800)):
        c = exc('load_m%d' % size, PF_VEC, 'mov (%%rbx), %s'
                % Reg(RAX, size))
        c.gpr[RBX] = next_page + delta
        c = exc('store_m%d' % size, PF_VEC, 'mov %s, (%%rbx)'
                % Reg(RCX, size))
        c.gpr[RBX] = next_page + delta
    # accesses that straddle the end of the data page: nothing is written
    for size, back in ((16, 1), (32, 3), (32, 1), (64, 7), (64, 4)):
        c = exc('cross_load%d_%d' % (size, back), PF_VEC,
                'mov (%%rsi), %s' % Reg(RAX, size))
        c.gpr[RSI] = next_page - back
        c = exc('cross_store%d_%d' % (size, back), PF_VEC,
                'mov %s, (%%rdi)' % Reg(RAX, size))
        c.gpr[RDI] = next_page - back
    c = exc('cross_add', PF_VEC, 'addl $1, -2(%rdi)')
    c.gpr[RDI] = next_page
    c = exc('cross_push_pop', PF_VEC, 'pushq -4(%rsi)', 'pop %rax')
    c.gpr[RSI] = next_page
    c = exc('cross_movsq', PF_VEC, 'movsq')
    c.gpr[RSI] = SNIPPET_DATA + 64
    c.gpr[RDI] = next_page - 5
    c.flag(DF, False)
    c = exc('cross_cmpxchg', PF_VEC, 'cmpxchg %ecx, (%rdi)')
    c.gpr[RDI] = next_page - 2
    c = exc('bt_far', PF_VEC, 'bts %rax, (%rbx)')
    c.gpr[RBX] = SNIPPET_DATA + 4000
    c.gpr[RAX] = 8 * 200
    c = exc('cmov_false', PF_VEC, 'cmovz (%rbx), %eax')
    c.rflags &= ~ZF               # the load happens even when false
    c.gpr[RBX] = next_page
    c = exc('fetch', PF_VEC, 'jmp *%rax')
    c.gpr[RAX] = next_page + 0x40
    c = exc('call_fetch', PF_VEC, 'call *%rax')
    c.gpr[RAX] = next_page
    # #GP: non-canonical addresses, and too long an instruction
    for addr in (1 << 63, 1 << 47, 0x0000800000000000 + 0x1000):
        c = exc('noncanon', GP, 'mov (%rax), %ecx')
        c.gpr[RAX] = addr
    c = exc('noncanon_store', GP, 'mov %ecx, 8(%rax)')
    c.gpr[RAX] = 0xFFFF7FFFFFFFFFF0
    c = exc('too_long', GP, '.byte ' + ', '.join(['0x66'] * 14 +
                                                 ['0x2e', '0x90']))
    # #SS: a non-canonical RBP-based address uses SS
    c = exc('ss_noncanon', SS, 'mov 8(%rbp), %eax')
    c.gpr[RBP] = 1 << 60
    # #BP is a trap: RIP is past the int3
    exc('int3', BP, 'int3')
    exc('int3_after', BP, 'mov $7, %ecx', 'int3', 'mov $8, %ecx')


def gen_privileged(g):
    for tag, text in (('cli', 'cli'), ('cli_sti', 'cli; sti'),
                      ('mov_cr0', 'mov %cr0, %rax')):
        c = g.new('priv', tag)
        c.privileged = True
        g.emit(c, text)


FAMILIES = [gen_mov, gen_movx, gen_lea, gen_alu, gen_unary, gen_muldiv,
            gen_shift, gen_shxd, gen_bt, gen_bitscan, gen_bswap, gen_setcc,
            gen_cmovcc, gen_jcc, gen_loop, gen_jmp_call, gen_stack,
            gen_convert, gen_xchg, gen_cmpxchg, gen_lock, gen_string,
            gen_nop, gen_flags, gen_prefix, gen_exceptions, gen_privileged,
            gen_flagseq]


# ---- output -----------------------------------------------------------------

def label(i, tag):
    return '.Lc%d_%s' % (i, tag)


def case_asm(i, c):
    out = ['%s:\t# %s' % (label(i, 's'), c.name)]
    for line in c.lines:
        for d in range(9, 0, -1):
            line = line.replace('@%d' % d, label(i, str(d)))
        line = line.replace('@S', label(i, 's'))
        out.append(line if line.endswith(':') else '\t' + line)
    out.append('%s:' % label(i, 'e'))
    return out


def write_asm(path, cases, seed):
    lines = [
        '# Generated by gen_corpus.py, seed %#x: do not edit.' % seed,
        '# Each case runs at SNIPPET_CODE (%#x); data at %#x.'
        % (SNIPPET_CODE, SNIPPET_DATA),
        '\t.section .rodata.diff_corpus_code, "a"',
        '\t.globl diff_corpus_code',
        'diff_corpus_code:',
    ]
    for i, c in enumerate(cases):
        lines += case_asm(i, c)
    lines += [
        '',
        '\t.section .rodata.diff_corpus_spans, "a"',
        '\t.p2align 3',
        '\t.globl diff_corpus_spans',
        'diff_corpus_spans:',
    ]
    for i in range(len(cases)):
        lines.append('\t.long %s - diff_corpus_code, %s - %s'
                     % (label(i, 's'), label(i, 'e'), label(i, 's')))
    lines += [
        '\t.globl diff_corpus_nr_spans',
        '\t.p2align 3',
        'diff_corpus_nr_spans:',
        '\t.quad %d' % len(cases),
        '\t.section .note.GNU-stack, "", @progbits',
        '',
    ]
    with open(path, 'w') as f:
        f.write('\n'.join(lines))


def runs(patches):
    """Contiguous (offset, bytes) runs of a case's patched bytes."""
    out = []
    for off in sorted(patches):
        if out and out[-1][0] + len(out[-1][1]) == off:
            out[-1][1].append(patches[off])
        else:
            out.append((off, [patches[off]]))
    return out


def c_string(s):
    assert all(ch.isalnum() or ch in '._-' for ch in s), s
    return '"%s"' % s


def write_c(path, cases, seed):
    blob, patch_rows, entries = [], [], []
    for c in cases:
        first = len(patch_rows)
        for off, data in runs(c.patches):
            row = (off, len(data), len(blob))
            patch_rows.append('\t{ %d, %d, %d },' % row)
            blob += data
        assert len(c.expect) <= 2, c.name
        exp = c.expect + [(-1, 0)] * (2 - len(c.expect))
        assert 0 <= c.rflags < 1 << 12
        entries.append(
            '\t{ %s,\n\t  { %s },\n\t  %#x, %#x, %#x, %d, %d, %d, %d,'
            '\n\t  { %d, %d }, { %#x, %#x } },'
            % (c_string(c.name),
               ', '.join('%#x' % v for v in c.gpr),
               c.rflags, c.seed, c.undef, first, len(patch_rows) - first,
               c.vector, int(c.privileged), exp[0][0], exp[1][0], exp[0][1],
               exp[1][1]))
    out = [
        '// Generated by gen_corpus.py, seed %#x: do not edit.' % seed,
        '#include "corpus_table.h"',
        '',
        'const size_t diff_corpus_nr = %d;' % len(cases),
        '',
        'const struct corpus_patch diff_corpus_patches[] = {',
    ] + (patch_rows or ['\t{ 0, 0, 0 },']) + [
        '};',
        '',
        'const uint8_t diff_corpus_blob[] = {',
    ]
    for i in range(0, len(blob), 16):
        out.append('\t' + ', '.join('%#04x' % b for b in blob[i:i + 16])
                   + ',')
    if not blob:
        out.append('\t0,')
    out += ['};', '', 'const struct corpus_entry diff_corpus_entries[] = {']
    out += entries
    out += ['};', '']
    with open(path, 'w') as f:
        f.write('\n'.join(out))


def build(seed):
    g = Gen(seed)
    for fam in FAMILIES:
        fam(g)
    names = [c.name for c in g.cases]
    assert len(names) == len(set(names)), 'duplicate case names'
    for c in g.cases:
        assert c.lines, c.name
        rsp = c.gpr[RSP]
        assert SNIPPET_STACK - 0x10000 <= rsp < SNIPPET_STACK, c.name
        assert not c.rflags & ~(ARITH | DF | 0x2), c.name
    return g.cases


GROUPS = {'clc': 'flags', 'stc': 'flags', 'cmc': 'flags', 'cld': 'flags',
          'std': 'flags', 'lahf': 'flags', 'sahf': 'flags',
          'cbw': 'cbw..cqo', 'cwde': 'cbw..cqo', 'cdqe': 'cbw..cqo',
          'cwd': 'cbw..cqo', 'cdq': 'cbw..cqo', 'cqo': 'cbw..cqo',
          'loope': 'loop', 'loopne': 'loop', 'jrcxz': 'loop',
          'jecxz': 'loop', 'string': 'movs..scas', 'movs': 'movs..scas',
          'stos': 'movs..scas', 'lods': 'movs..scas', 'cmps': 'movs..scas',
          'scas': 'movs..scas'}


def group(family):
    """The instruction family a case counts under in --stats."""
    for cc in CONDS:
        if family in ('set' + cc, 'cmov' + cc, 'j' + cc):
            return family[:-len(cc)] + 'cc'
    return GROUPS.get(family, family)


def stats(cases):
    counts, predicted = {}, {}
    for c in cases:
        key = group(c.family)
        counts[key] = counts.get(key, 0) + 1
        predicted[key] = predicted.get(key, 0) + bool(c.expect)
    lines = ['%-12s %5s %10s' % ('family', 'cases', 'predicted')]
    lines += ['%-12s %5d %10d' % (k, counts[k], predicted[k])
              for k in sorted(counts)]
    lines.append('%-12s %5d %10d' % ('total', len(cases),
                                     sum(predicted.values())))
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seed', type=lambda s: int(s, 0), default=DEFAULT_SEED)
    ap.add_argument('--asm', help='GNU as output')
    ap.add_argument('--c', help='C table output')
    ap.add_argument('--stats', action='store_true',
                    help='print the case count per family')
    args = ap.parse_args()
    cases = build(args.seed)
    if args.asm:
        write_asm(args.asm, cases, args.seed)
    if args.c:
        write_c(args.c, cases, args.seed)
    if args.stats:
        print(stats(cases))
    return 0


if __name__ == '__main__':
    sys.exit(main())
