//! Just enough ELF to find a symbol's value and size and the load segments
//! that relocate it (32- and 64-bit, little-endian).
//!
//! Every read is bounds-checked: a truncated or malformed file gives `Err`,
//! never a panic or an out-of-bounds read.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfSymbol {
    pub value: u64,
    pub size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadSegment {
    pub vaddr: u64,
    pub offset: u64,
    pub filesz: u64,
    pub memsz: u64,
}

const PT_LOAD: u32 = 1;
const SHT_SYMTAB: u32 = 2;
const SHT_DYNSYM: u32 = 11;
const SHT_NOBITS: u32 = 8;
const SHN_UNDEF: u16 = 0;
const PN_XNUM: u16 = 0xffff;

/// Bounds-checked little-endian reads.
fn slice(data: &[u8], off: u64, len: u64) -> Result<&[u8], String> {
    let start = usize::try_from(off).map_err(|_| format!("offset {off:#x} too large"))?;
    let len = usize::try_from(len).map_err(|_| format!("length {len:#x} too large"))?;
    let end = start
        .checked_add(len)
        .ok_or_else(|| format!("range {off:#x}+{len:#x} overflows"))?;
    data.get(start..end).ok_or_else(|| {
        format!(
            "truncated: needs bytes {start:#x}..{end:#x}, file has {:#x}",
            data.len()
        )
    })
}

fn u16_at(d: &[u8], off: u64) -> Result<u16, String> {
    let b = slice(d, off, 2)?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(d: &[u8], off: u64) -> Result<u32, String> {
    let b = slice(d, off, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn u64_at(d: &[u8], off: u64) -> Result<u64, String> {
    let b = slice(d, off, 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(u64::from_le_bytes(a))
}

#[derive(Clone, Copy)]
struct Elf<'a> {
    data: &'a [u8],
    is64: bool,
}

struct Section {
    kind: u32,
    offset: u64,
    size: u64,
    link: u32,
    entsize: u64,
}

impl<'a> Elf<'a> {
    fn parse(data: &'a [u8]) -> Result<Self, String> {
        let ident = slice(data, 0, 16).map_err(|_| "not an ELF file: shorter than its header")?;
        if ident[..4] != *b"\x7fELF" {
            return Err("not an ELF file (bad magic)".into());
        }
        let is64 = match ident[4] {
            1 => false,
            2 => true,
            c => return Err(format!("unsupported ELF class {c}")),
        };
        if ident[5] != 1 {
            return Err(format!(
                "unsupported ELF data encoding {} (only little-endian)",
                ident[5]
            ));
        }
        let elf = Elf { data, is64 };
        // The whole file header must be there.
        slice(data, 0, if is64 { 64 } else { 52 })?;
        Ok(elf)
    }

    /// A word (`Elf32_Word`/`Elf32_Addr`/`Elf32_Off`) or its 64-bit wide twin.
    fn word(&self, off: u64) -> Result<u64, String> {
        if self.is64 {
            u64_at(self.data, off)
        } else {
            u32_at(self.data, off).map(u64::from)
        }
    }

    fn phoff(&self) -> Result<u64, String> {
        self.word(if self.is64 { 32 } else { 28 })
    }

    fn shoff(&self) -> Result<u64, String> {
        self.word(if self.is64 { 40 } else { 32 })
    }

    /// e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx.
    fn half(&self, index: u64) -> Result<u16, String> {
        let base = if self.is64 { 54 } else { 42 };
        u16_at(self.data, base + 2 * index)
    }

    fn section_count(&self) -> Result<u64, String> {
        let shoff = self.shoff()?;
        if shoff == 0 {
            return Ok(0);
        }
        let n = self.half(3)?;
        if n != 0 {
            return Ok(u64::from(n));
        }
        // Extended numbering: the real count is section 0's sh_size.
        Ok(self.section(0)?.size)
    }

    fn section(&self, index: u64) -> Result<Section, String> {
        let shentsize = u64::from(self.half(2)?);
        let need = if self.is64 { 64 } else { 40 };
        if shentsize < need {
            return Err(format!("section header size {shentsize} < {need}"));
        }
        let off = index
            .checked_mul(shentsize)
            .and_then(|o| o.checked_add(self.shoff().ok()?))
            .ok_or("section header offset overflows")?;
        slice(self.data, off, need)?;
        let d = self.data;
        Ok(if self.is64 {
            Section {
                kind: u32_at(d, off + 4)?,
                offset: u64_at(d, off + 24)?,
                size: u64_at(d, off + 32)?,
                link: u32_at(d, off + 40)?,
                entsize: u64_at(d, off + 56)?,
            }
        } else {
            Section {
                kind: u32_at(d, off + 4)?,
                offset: u64::from(u32_at(d, off + 16)?),
                size: u64::from(u32_at(d, off + 20)?),
                link: u32_at(d, off + 24)?,
                entsize: u64::from(u32_at(d, off + 36)?),
            }
        })
    }

    fn segment_count(&self) -> Result<u64, String> {
        let n = self.half(1)?;
        if n != PN_XNUM {
            return Ok(u64::from(n));
        }
        // Extended numbering: the real count is section 0's sh_info.
        let shentsize = u64::from(self.half(2)?);
        if shentsize < if self.is64 { 64 } else { 40 } {
            return Err("PN_XNUM without a section header".into());
        }
        let info_off = if self.is64 { 44 } else { 28 };
        let off = self
            .shoff()?
            .checked_add(info_off)
            .ok_or("section header offset overflows")?;
        u32_at(self.data, off).map(u64::from)
    }

    fn load_segments(&self) -> Result<Vec<LoadSegment>, String> {
        let count = self.segment_count()?;
        if count == 0 {
            return Ok(Vec::new());
        }
        let phentsize = u64::from(self.half(0)?);
        let need = if self.is64 { 56 } else { 32 };
        if phentsize < need {
            return Err(format!("program header size {phentsize} < {need}"));
        }
        let phoff = self.phoff()?;
        let table_len = count
            .checked_mul(phentsize)
            .ok_or("program header table size overflows")?;
        slice(self.data, phoff, table_len)?;
        let d = self.data;
        let mut out = Vec::new();
        for i in 0..count {
            let off = phoff + i * phentsize;
            if u32_at(d, off)? != PT_LOAD {
                continue;
            }
            let seg = if self.is64 {
                LoadSegment {
                    offset: u64_at(d, off + 8)?,
                    vaddr: u64_at(d, off + 16)?,
                    filesz: u64_at(d, off + 32)?,
                    memsz: u64_at(d, off + 40)?,
                }
            } else {
                LoadSegment {
                    offset: u64::from(u32_at(d, off + 4)?),
                    vaddr: u64::from(u32_at(d, off + 8)?),
                    filesz: u64::from(u32_at(d, off + 16)?),
                    memsz: u64::from(u32_at(d, off + 20)?),
                }
            };
            out.push(seg);
        }
        Ok(out)
    }

    /// Searches one symbol table section (`.dynsym` or `.symtab`) for a
    /// defined symbol called `name`.
    fn search(&self, symtab: &Section, name: &[u8]) -> Result<Option<ElfSymbol>, String> {
        let need = if self.is64 { 24 } else { 16 };
        let entsize = if symtab.entsize == 0 {
            need
        } else {
            symtab.entsize
        };
        if entsize < need {
            return Err(format!("symbol entry size {entsize} < {need}"));
        }
        let syms = slice(self.data, symtab.offset, symtab.size)?;
        let strsec = self.section(u64::from(symtab.link))?;
        if strsec.kind == SHT_NOBITS {
            return Err("symbol string table has no bytes".into());
        }
        let strtab = slice(self.data, strsec.offset, strsec.size)?;
        let count = symtab.size / entsize;
        for i in 0..count {
            let off = i * entsize;
            let st_name = u64::from(u32_at(syms, off)?);
            let candidate = strtab
                .get(usize::try_from(st_name).unwrap_or(usize::MAX)..)
                .ok_or_else(|| {
                    format!("symbol {i}: name offset {st_name:#x} outside its string table")
                })?;
            // Compare `name` and the NUL that must end it.
            if candidate.len() <= name.len()
                || &candidate[..name.len()] != name
                || candidate[name.len()] != 0
            {
                continue;
            }
            let (value, size, shndx) = if self.is64 {
                (
                    u64_at(syms, off + 8)?,
                    u64_at(syms, off + 16)?,
                    u16_at(syms, off + 6)?,
                )
            } else {
                (
                    u64::from(u32_at(syms, off + 4)?),
                    u64::from(u32_at(syms, off + 8)?),
                    u16_at(syms, off + 14)?,
                )
            };
            // An undefined reference (an importer of the symbol) is not a definition.
            if shndx == SHN_UNDEF {
                continue;
            }
            return Ok(Some(ElfSymbol { value, size }));
        }
        Ok(None)
    }

    fn find_symbol(&self, name: &str) -> Result<Option<ElfSymbol>, String> {
        let count = self.section_count()?;
        let mut sections = Vec::new();
        for i in 0..count {
            let s = self.section(i)?;
            if s.kind == SHT_DYNSYM || s.kind == SHT_SYMTAB {
                sections.push(s);
            }
        }
        // `.dynsym` first: it survives `strip`, and is what the loader uses.
        sections.sort_by_key(|s| s.kind != SHT_DYNSYM);
        for s in &sections {
            if let Some(sym) = self.search(s, name.as_bytes())? {
                return Ok(Some(sym));
            }
        }
        Ok(None)
    }
}

/// Looks `name` up in `.dynsym`, then `.symtab`. Only definitions count (an
/// undefined reference is skipped). A file without section headers (fully
/// stripped) has no symbol tables to search: `Ok(None)`.
pub fn find_symbol(data: &[u8], name: &str) -> Result<Option<ElfSymbol>, String> {
    Elf::parse(data)?.find_symbol(name)
}

/// The PT_LOAD segments.
pub fn load_segments(data: &[u8]) -> Result<Vec<LoadSegment>, String> {
    Elf::parse(data)?.load_segments()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const SYSTEM_PYTHON: &str = "/usr/bin/python3.11";
    const LIBPYTHON: &str = "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0";

    fn read_or_skip(path: &str) -> Option<Vec<u8>> {
        match std::fs::read(path) {
            Ok(b) => Some(b),
            Err(e) => {
                println!("skipping: {path} not readable on this machine ({e})");
                None
            }
        }
    }

    fn seg(vaddr: u64, offset: u64, filesz: u64, memsz: u64) -> LoadSegment {
        LoadSegment {
            vaddr,
            offset,
            filesz,
            memsz,
        }
    }

    /// A minimal little-endian ELF32 for 32-bit ARM, built byte by byte: one
    /// PT_LOAD, a `.dynsym` that only *imports* `_PyRuntime` (undefined), and
    /// a `.symtab` that defines it at 0x11000 with size 0x1234.
    pub(crate) fn tiny_elf32_arm() -> Vec<u8> {
        fn p16(v: &mut Vec<u8>, x: u16) {
            v.extend_from_slice(&x.to_le_bytes());
        }
        fn p32(v: &mut Vec<u8>, x: u32) {
            v.extend_from_slice(&x.to_le_bytes());
        }
        let strtab: &[u8] = b"\0_PyRuntime\0other\0";
        let ehsize = 52u32;
        let phoff = ehsize;
        let strtab_off = phoff + 32;
        let dynsym_off = (strtab_off + strtab.len() as u32 + 3) & !3;
        let symtab_off = dynsym_off + 2 * 16;
        let shoff = symtab_off + 3 * 16;

        let mut v = Vec::new();
        v.extend_from_slice(b"\x7fELF");
        v.extend_from_slice(&[1, 1, 1, 0]); // ELFCLASS32, LSB, EV_CURRENT, SYSV
        v.extend_from_slice(&[0; 8]);
        p16(&mut v, 3); // ET_DYN
        p16(&mut v, 40); // EM_ARM
        p32(&mut v, 1);
        p32(&mut v, 0); // e_entry
        p32(&mut v, phoff);
        p32(&mut v, shoff);
        p32(&mut v, 0x0500_0400); // EABI5, hard float
        p16(&mut v, ehsize as u16);
        p16(&mut v, 32); // e_phentsize
        p16(&mut v, 1); // e_phnum
        p16(&mut v, 40); // e_shentsize
        p16(&mut v, 4); // e_shnum
        p16(&mut v, 0); // e_shstrndx: no section names
        assert_eq!(v.len(), ehsize as usize);
        // PT_LOAD: offset 0, vaddr 0x10000, filesz 0x200, memsz 0x3000, RW.
        for x in [PT_LOAD, 0, 0x10000, 0x10000, 0x200, 0x3000, 6, 0x1000] {
            p32(&mut v, x);
        }
        v.extend_from_slice(strtab);
        v.resize(dynsym_off as usize, 0);
        // .dynsym: null, undefined _PyRuntime.
        v.extend_from_slice(&[0; 16]);
        p32(&mut v, 1);
        p32(&mut v, 0);
        p32(&mut v, 0);
        v.extend_from_slice(&[0x11, 0]);
        p16(&mut v, 0); // SHN_UNDEF
                        // .symtab: null, "other", defined _PyRuntime.
        v.extend_from_slice(&[0; 16]);
        p32(&mut v, 12);
        p32(&mut v, 0x10100);
        p32(&mut v, 4);
        v.extend_from_slice(&[0x11, 0]);
        p16(&mut v, 1);
        p32(&mut v, 1);
        p32(&mut v, 0x11000);
        p32(&mut v, 0x1234);
        v.extend_from_slice(&[0x11, 0]);
        p16(&mut v, 1);
        assert_eq!(v.len(), shoff as usize);
        // Section headers: name, type, flags, addr, offset, size, link, info, align, entsize.
        let sh = |v: &mut Vec<u8>, f: [u32; 10]| f.iter().for_each(|&x| p32(v, x));
        sh(&mut v, [0; 10]);
        sh(&mut v, [0, SHT_DYNSYM, 2, 0, dynsym_off, 32, 2, 1, 4, 16]);
        sh(
            &mut v,
            [0, 3, 0, 0, strtab_off, strtab.len() as u32, 0, 0, 1, 0],
        );
        sh(&mut v, [0, SHT_SYMTAB, 0, 0, symtab_off, 48, 2, 1, 4, 16]);
        v
    }

    #[test]
    fn synthetic_elf32_arm() {
        let elf = tiny_elf32_arm();
        assert_eq!(
            crate::abi::abi_from_elf_header(&elf),
            Ok(crate::abi::Abi::Arm)
        );
        assert_eq!(
            find_symbol(&elf, "_PyRuntime").unwrap(),
            Some(ElfSymbol {
                value: 0x11000,
                size: 0x1234
            }),
            "the undefined .dynsym entry is skipped, the .symtab definition found"
        );
        assert_eq!(
            find_symbol(&elf, "other").unwrap(),
            Some(ElfSymbol {
                value: 0x10100,
                size: 4
            })
        );
        assert_eq!(
            find_symbol(&elf, "_PyRun").unwrap(),
            None,
            "no prefix matches"
        );
        assert_eq!(find_symbol(&elf, "missing").unwrap(), None);
        assert_eq!(
            load_segments(&elf).unwrap(),
            vec![seg(0x10000, 0, 0x200, 0x3000)]
        );
    }

    #[test]
    fn truncated_and_garbage_inputs_are_errors() {
        let elf = tiny_elf32_arm();
        // Every strict prefix: an error, never a panic (the section header
        // table is at the very end, so every prefix cuts it).
        for len in 0..elf.len() {
            assert!(
                find_symbol(&elf[..len], "_PyRuntime").is_err(),
                "prefix {len}"
            );
        }
        for len in 0..84 {
            assert!(load_segments(&elf[..len]).is_err(), "prefix {len}");
        }
        assert!(load_segments(&elf[..84]).is_ok());

        assert!(find_symbol(b"", "x").is_err());
        assert!(find_symbol(b"garbage, not an ELF file at all", "x").is_err());
        assert!(load_segments(&[0u8; 4096]).is_err());
        let mut big_endian = elf.clone();
        big_endian[5] = 2;
        assert!(find_symbol(&big_endian, "_PyRuntime")
            .unwrap_err()
            .contains("little-endian"));

        // Offsets pointing far outside the file.
        let mut far = elf.clone();
        far[32..36].copy_from_slice(&0xffff_fff0u32.to_le_bytes()); // e_shoff
        assert!(find_symbol(&far, "_PyRuntime").is_err());
        let mut far = elf.clone();
        far[28..32].copy_from_slice(&0xffff_fff0u32.to_le_bytes()); // e_phoff
        assert!(load_segments(&far).is_err());
        let mut tiny_entsize = elf.clone();
        tiny_entsize[46..48].copy_from_slice(&8u16.to_le_bytes()); // e_shentsize
        assert!(find_symbol(&tiny_entsize, "_PyRuntime").is_err());

        // Corrupting any single byte may change the answer but never panics.
        for i in 0..elf.len() {
            for b in [0x00, 0x7f, 0x80, 0xff] {
                let mut bad = elf.clone();
                bad[i] = b;
                let _ = find_symbol(&bad, "_PyRuntime");
                let _ = load_segments(&bad);
            }
        }
        // Pseudo-random garbage behind a valid ELF64 ident never panics.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..200 {
            let mut bytes = vec![0u8; 512];
            for b in bytes.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            bytes[..6].copy_from_slice(b"\x7fELF\x02\x01");
            let _ = find_symbol(&bytes, "_PyRuntime");
            let _ = load_segments(&bytes);
        }
    }

    #[test]
    fn real_system_python_executable() {
        let Some(data) = read_or_skip(SYSTEM_PYTHON) else {
            return;
        };
        // Values from `readelf -Ws` / `readelf -lW` on this machine's file.
        assert_eq!(
            find_symbol(&data, "_PyRuntime").unwrap(),
            Some(ElfSymbol {
                value: 0xa5b740,
                size: 0x28b20
            })
        );
        assert_eq!(
            find_symbol(&data, "_Py_NoneStruct").unwrap(),
            Some(ElfSymbol {
                value: 0x959cc0,
                size: 16
            })
        );
        assert_eq!(find_symbol(&data, "no_such_symbol_here").unwrap(), None);
        assert_eq!(
            load_segments(&data).unwrap(),
            vec![
                seg(0x400000, 0, 0x1e3e8, 0x1e3e8),
                seg(0x41f000, 0x1f000, 0x2b2289, 0x2b2289),
                seg(0x6d2000, 0x2d2000, 0x272968, 0x272968),
                seg(0x945dc8, 0x544dc8, 0x13e4b0, 0x1832f0),
            ]
        );
    }

    #[test]
    fn real_libpython() {
        let Some(data) = read_or_skip(LIBPYTHON) else {
            return;
        };
        assert_eq!(
            find_symbol(&data, "_PyRuntime").unwrap(),
            Some(ElfSymbol {
                value: 0x54e540,
                size: 0x28b20
            })
        );
        // Only in .symtab (a static object): the fallback works.
        assert_eq!(
            find_symbol(&data, "bytearray_as_number").unwrap(),
            Some(ElfSymbol {
                value: 0x447480,
                size: 288
            })
        );
        assert_eq!(
            find_symbol(&data, "PyObject_Free").unwrap(),
            Some(ElfSymbol {
                value: 0x1af270,
                size: 16
            })
        );
        assert_eq!(
            load_segments(&data).unwrap(),
            vec![
                seg(0, 0, 0xf4188, 0xf4188),
                seg(0xf5000, 0xf5000, 0x23b6d9, 0x23b6d9),
                seg(0x331000, 0x331000, 0xe3078, 0xe3078),
                seg(0x415ed0, 0x414ed0, 0x161190, 0x1a3a68),
            ]
        );
        // Cut before the section headers (at the end of the file): an error.
        assert!(find_symbol(&data[..data.len() / 2], "_PyRuntime").is_err());
    }
}
