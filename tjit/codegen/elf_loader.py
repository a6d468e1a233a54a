"""Load x86-64 ELF object code (what `jit._build` emits) into the process without LLVM.

A warm process, whose kernels are all in the disk cache, only has to put object
code in memory and patch its addresses. Done by an MCJIT engine, that costs
initializing LLVM's native target, a target machine, an engine and a finalize
per object (~1.3 ms a process); this module does it in Python, for the objects
tjit's JIT code model produces: allocated sections that are read-only data or
code (no writable data or TLS), relocated only by absolute 64-bit addresses
(R_X86_64_64: the large code model's `movabs`). Unwind tables (`.eh_frame`, which
level-0 objects carry) are not loaded: no exception or unwinder ever crosses a
kernel (MCJIT registers them; nothing here would read them).

`ObjectImages` is one namespace of such objects (an engine's): each object is
checked in full before anything is mapped, so an object it cannot load
(`Unsupported`: another machine, relocation type or section kind, a symbol
defined twice or resolved nowhere) leaves it unchanged, and the caller loads
that object through MCJIT instead. Undefined symbols are looked up among the
namespace's earlier objects, then in libm and libc (as MCJIT resolves them
after `llvm.load_library_permanently`). Each object is one anonymous mapping,
written then made read + execute; `close` unmaps them all.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import struct

_R_X86_64_NONE, _R_X86_64_64 = 0, 1
_SHF_WRITE, _SHF_ALLOC, _SHF_TLS = 0x1, 0x2, 0x400
_SHT_PROGBITS, _SHT_SYMTAB, _SHT_RELA, _SHT_REL, _SHT_X86_64_UNWIND = 1, 2, 4, 9, 0x70000001
_SHN_UNDEF, _SHN_ABS, _SHN_LORESERVE = 0, 0xfff1, 0xff00
_STB_GLOBAL, _STB_WEAK = 1, 2
_PROT_READ, _PROT_WRITE, _PROT_EXEC = 1, 2, 4
_MAP_PRIVATE, _MAP_ANONYMOUS = 0x02, 0x20
_PAGE = 4096
_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_SECTION = struct.Struct("<IIQQQQIIQQ")     # name type flags addr offset size link info align entsize
_SYMBOL = struct.Struct("<IBBHQQ")          # name info other shndx value size
_RELA = struct.Struct("<QQq")               # offset info addend


class Unsupported(Exception):
    """An object this loader does not load (MCJIT can)."""


_libs = {}


def _libc():
    """The process's libc, with mmap, mprotect and munmap declared."""
    libc = _libs.get("libc")
    if libc is None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long)
        libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        libc.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
        _libs["libc"] = libc
    return libc


def _external(name):
    """The address of `name` in libm or libc (in that order, as MCJIT looks
    them up), or None."""
    handles = _libs.get("libm, libc")
    if handles is None:     # opened when a kernel first calls one (few do)
        handles = []
        for lib, soname in (("m", "libm.so.6"), ("c", "libc.so.6")):
            try:
                handles.append(ctypes.CDLL(soname))
            except OSError:
                path = ctypes.util.find_library(lib)
                if path:
                    handles.append(ctypes.CDLL(path))
        _libs["libm, libc"] = handles
    for handle in handles:
        try:
            return ctypes.cast(handle[name], ctypes.c_void_p).value
        except AttributeError:
            continue
    return None


class ObjectFile:
    """A parsed relocatable object: what to map where, and what to patch.
    Raises Unsupported for anything but an x86-64 ELF object."""

    def __init__(self, data):
        try:
            self._parse(memoryview(data).tobytes() if not isinstance(data, bytes) else data)
        except (struct.error, IndexError, UnicodeDecodeError, ValueError) as e:
            raise Unsupported(f"malformed object: {e}") from None

    def _parse(self, data):
        (ident, e_type, machine, _, _, _, shoff, _, _, _, _, shentsize, shnum,
         shstrndx) = _HEADER.unpack_from(data, 0)
        if ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1:
            raise Unsupported("not a 64-bit little-endian ELF object")
        if e_type != 1 or machine != 62:
            raise Unsupported(f"ELF type {e_type}, machine {machine}: not an x86-64 object")
        if shentsize != _SECTION.size or not 0 < shnum < 256 or shstrndx >= shnum:
            raise Unsupported("unexpected section table")
        sections = [_SECTION.unpack_from(data, shoff + k * shentsize) for k in range(shnum)]
        names = sections[shstrndx]

        def section_name(k):
            start = names[4] + sections[k][0]
            return data[start:data.index(b"\0", start)].decode()

        # the image: allocated sections, each at its alignment
        self.place = {}         # section index -> offset in the image
        self.size = 0
        for k, (_, kind, flags, _, offset, size, _, _, align, _) in enumerate(sections):
            if not flags & _SHF_ALLOC or kind == _SHT_X86_64_UNWIND:
                continue
            if kind != _SHT_PROGBITS or flags & (_SHF_WRITE | _SHF_TLS):
                raise Unsupported(f"section {section_name(k)} (type {kind:#x}, flags "
                                  f"{flags:#x}) is not code or read-only data")
            if offset + size > len(data) or align > _PAGE:
                raise Unsupported(f"section {section_name(k)} out of bounds")
            align = max(align, 1)
            start = -(-self.size // align) * align
            self.place[k] = start
            self.size = start + size
        self.sections = sections
        self.data = data
        symtabs = [s for s in sections if s[1] == _SHT_SYMTAB]
        if len(symtabs) != 1:
            raise Unsupported("expected one symbol table")
        symtab = symtabs[0]
        strtab = sections[symtab[6]]
        self.symbols = []       # (name, binding, section index, value)
        for k in range(symtab[5] // _SYMBOL.size):
            st_name, info, _, shndx, value, _ = _SYMBOL.unpack_from(data, symtab[4] + k * _SYMBOL.size)
            start = strtab[4] + st_name
            name = data[start:data.index(b"\0", start)].decode()
            self.symbols.append((name, info >> 4, shndx, value))
        self.relocations = []   # (image offset, symbol index, addend)
        for k, (_, kind, _, _, offset, size, link, info, _, entsize) in enumerate(sections):
            if kind == _SHT_REL:
                raise Unsupported("REL relocations")
            if kind != _SHT_RELA or info not in self.place:
                continue        # relocations of sections not loaded
            if sections[link] is not symtab or entsize != _RELA.size:
                raise Unsupported("unexpected relocation section")
            base, limit = self.place[info], sections[info][5]
            for r_offset, r_info, addend in _RELA.iter_unpack(data[offset:offset + size]):
                rtype, sym = r_info & 0xffffffff, r_info >> 32
                if rtype == _R_X86_64_NONE:
                    continue
                if rtype != _R_X86_64_64:
                    raise Unsupported(f"relocation type {rtype}")
                if r_offset + 8 > limit or sym >= len(self.symbols):
                    raise Unsupported("relocation out of bounds")
                self.relocations.append((base + r_offset, sym, addend))

    def undefined(self):
        """The names of the symbols it needs from elsewhere."""
        return [name for name, _, shndx, _ in self.symbols[1:] if shndx == _SHN_UNDEF]

    def exports(self):
        """{name: (section index, value)} of the symbols it defines for others."""
        found = {}
        for name, binding, shndx, value in self.symbols:
            if binding in (_STB_GLOBAL, _STB_WEAK) and shndx != _SHN_UNDEF and name:
                if shndx != _SHN_ABS and shndx not in self.place:
                    raise Unsupported(f"symbol {name} in a section not loaded")
                found[name] = (shndx, value)
        return found


class ObjectImages:
    """The objects loaded into one namespace (an engine): their mappings and
    the addresses of the symbols they define. `get_function_address` mirrors
    llvmlite's ExecutionEngine (0: not defined)."""

    def __init__(self):
        self.addresses = {}     # symbol -> address
        self.mappings = []      # (address, size)

    def add_object(self, data):
        """Map and relocate the object code `data` (bytes or an `ObjectFile`);
        raises Unsupported (and changes nothing) if it is not an object this
        loader handles."""
        obj = data if isinstance(data, ObjectFile) else ObjectFile(data)
        exports = obj.exports()
        twice = exports.keys() & self.addresses.keys()
        if twice:
            raise Unsupported(f"symbols defined twice: {sorted(twice)}")
        # every undefined symbol resolved before anything is mapped
        resolved = {}
        for k, (name, _, shndx, value) in enumerate(obj.symbols):
            if shndx == _SHN_UNDEF and k:
                address = self.addresses.get(name) or _external(name)
                if address is None:
                    raise Unsupported(f"symbol {name} not found")
                resolved[k] = address
            elif shndx >= _SHN_LORESERVE and shndx != _SHN_ABS:
                raise Unsupported(f"symbol {name} in special section {shndx:#x}")
        for _, sym, _ in obj.relocations:
            shndx = obj.symbols[sym][2]
            if sym not in resolved and shndx != _SHN_ABS and shndx not in obj.place:
                raise Unsupported(f"a relocation names symbol {obj.symbols[sym][0]!r} "
                                  "of a section not loaded")
        libc = _libc()
        size = max(-(-obj.size // _PAGE) * _PAGE, _PAGE)
        base = libc.mmap(None, size, _PROT_READ | _PROT_WRITE, _MAP_PRIVATE | _MAP_ANONYMOUS,
                         -1, 0)
        if base is None or base == ctypes.c_void_p(-1).value:
            raise MemoryError(f"mmap of {size} bytes failed (errno {ctypes.get_errno()})")
        try:
            self._write(obj, base, resolved)
            if libc.mprotect(base, size, _PROT_READ | _PROT_EXEC):
                raise OSError(ctypes.get_errno(), "mprotect failed")
        except BaseException:
            libc.munmap(base, size)
            raise
        self.mappings.append((base, size))
        for name, (shndx, value) in exports.items():
            self.addresses[name] = value if shndx == _SHN_ABS else base + obj.place[shndx] + value

    @staticmethod
    def _write(obj, base, resolved):
        image = bytearray(obj.size)
        for k, start in obj.place.items():
            offset, size = obj.sections[k][4], obj.sections[k][5]
            image[start:start + size] = obj.data[offset:offset + size]
        pack = struct.pack_into
        for at, sym, addend in obj.relocations:
            address = resolved.get(sym)
            if address is None:
                _, _, shndx, value = obj.symbols[sym]
                address = value if shndx == _SHN_ABS else base + obj.place[shndx] + value
            pack("<Q", image, at, (address + addend) & 0xffffffffffffffff)
        ctypes.memmove(base, bytes(image), obj.size)

    def get_function_address(self, name):
        return self.addresses.get(name, 0)

    def close(self):
        """Unmap every object: no code of this namespace may run after this."""
        libc = _libc()
        while self.mappings:
            libc.munmap(*self.mappings.pop())
        self.addresses.clear()
