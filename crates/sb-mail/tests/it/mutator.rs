//! A seeded mutator for mail bytes, shared by the mutation test and the `fuzz_mutations`
//! example (which includes this file by path): byte flips, insertions of MIME-significant
//! tokens, deletions, duplications, truncations and splices of two mails. Deterministic for a
//! seed, so a failure is reproducible from the seed and the iteration printed with it.

/// SplitMix64: a tiny, well-mixed generator; good enough to drive mutations.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// Uniform in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }
}

/// Byte strings that matter to a MIME parser, inserted at random places.
const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r\n\r\n",
    b"--",
    b"--b--",
    b"=?utf-8?q?",
    b"=?utf-8?b?",
    b"?=",
    b"=0D=0A",
    b"=\r\n",
    b"Content-Type: multipart/mixed; boundary=\"b\"\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: text/html; charset=shift_jis\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"Content-Disposition: attachment; filename*0*=utf-8''a%;\r\n",
    b"\r\n--b\r\n",
    b"\r\n--b--\r\n",
    b"<",
    b">",
    b"@",
    b":",
    b";",
    b"\"",
    b"\0",
    b"\xff\xfe",
    b"\xe2\x80\xae",
    b"From ",
    b"[SB-1-B]",
    b"> ",
    b"<blockquote>",
    b"</div>",
];

/// One to four mutations of `mail`, sometimes spliced with `other`.
pub fn mutate(mail: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = mail.to_vec();
    let n_mutations = 1 + rng.below(4);
    for _ in 0..n_mutations {
        let len = bytes.len();
        match rng.below(8) {
            0 if len > 0 => {
                let idx = rng.below(len);
                bytes[idx] ^= 1 << rng.below(8);
            }
            1 => {
                let idx = rng.below(len + 1);
                bytes.insert(idx, rng.next_u64() as u8);
            }
            2 | 3 => {
                let idx = rng.below(len + 1);
                let token = TOKENS[rng.below(TOKENS.len())];
                bytes.splice(idx..idx, token.iter().copied());
            }
            4 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64)).min(len);
                bytes.drain(start..end);
            }
            5 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(256)).min(len);
                let copy = bytes[start..end].to_vec();
                let at = rng.below(len + 1);
                bytes.splice(at..at, copy);
            }
            6 if len > 0 => bytes.truncate(rng.below(len)),
            7 if !other.is_empty() => {
                let cut = rng.below(len + 1);
                let other_start = rng.below(other.len());
                bytes.truncate(cut);
                bytes.extend_from_slice(&other[other_start..]);
            }
            _ => {}
        }
    }
    bytes
}
