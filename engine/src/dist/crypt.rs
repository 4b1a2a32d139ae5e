//! Block encryption for MSG_BLK: AES-CBC with the segment key Ke = Kp (MS-PCCRR §2.2.5.3, MS-PCCRC §2.2).
//!
//! \[?\] Decisions the specs leave open: the key is the first 16/24/32 bytes of Kp (the iPXE rule, which interoperates
//! with Windows); the sender pads with PKCS#7; the receiver decrypts all of SizeOfBlock without
//! checking padding and keeps the expected number of bytes (the robust-receiver rule), then the
//! hash decides.

use super::content::UnitData;
use super::hash::Digest;
use super::pccrr::{BlockBody, CryptoAlgo, IV_LEN};
use cbc::cipher::block_padding::{NoPadding, Pkcs7};
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};

/// Encrypts a unit for MSG_BLK with `iv`; modeled units become modeled bodies of the padded size.
pub fn seal(algo: CryptoAlgo, kp: &Digest, iv: &[u8; IV_LEN], unit: &UnitData) -> BlockBody {
    match unit {
        UnitData::Token { len, hash } => BlockBody::Modeled {
            wire_len: algo.cipher_len(*len),
            plain_len: *len,
            token: *hash,
        },
        UnitData::Bytes(plain) => BlockBody::Bytes(match algo {
            CryptoAlgo::None => plain.clone(),
            CryptoAlgo::Aes128 => enc::<aes::Aes128>(&kp.as_bytes()[..16], iv, plain).into(),
            CryptoAlgo::Aes192 => enc::<aes::Aes192>(&kp.as_bytes()[..24], iv, plain).into(),
            CryptoAlgo::Aes256 => enc::<aes::Aes256>(&kp.as_bytes()[..32], iv, plain).into(),
        }),
    }
}

/// Decrypts a MSG_BLK body into the unit's plaintext of `expected_len` bytes; `None` when the
/// ciphertext cannot be (wrong length, missing IV) or is too short.
pub fn open(
    algo: CryptoAlgo,
    kp: &Digest,
    iv: Option<&[u8; IV_LEN]>,
    body: &BlockBody,
    expected_len: u32,
) -> Option<UnitData> {
    match body {
        BlockBody::Modeled { plain_len, token, .. } => Some(UnitData::Token {
            len: *plain_len,
            hash: *token,
        }),
        BlockBody::Bytes(cipher) => {
            let mut plain = match algo {
                CryptoAlgo::None => cipher.to_vec(),
                CryptoAlgo::Aes128 => dec::<aes::Aes128>(&kp.as_bytes()[..16], iv?, cipher)?,
                CryptoAlgo::Aes192 => dec::<aes::Aes192>(&kp.as_bytes()[..24], iv?, cipher)?,
                CryptoAlgo::Aes256 => dec::<aes::Aes256>(&kp.as_bytes()[..32], iv?, cipher)?,
            };
            if plain.len() < expected_len as usize {
                return None;
            }
            plain.truncate(expected_len as usize);
            Some(UnitData::Bytes(plain.into()))
        }
    }
}

fn enc<C>(key: &[u8], iv: &[u8; IV_LEN], plain: &[u8]) -> Vec<u8>
where
    C: cbc::cipher::BlockCipher + cbc::cipher::BlockEncryptMut + cbc::cipher::KeyInit,
{
    // `expect`: the key slice is cut to the cipher's exact key length above.
    cbc::Encryptor::<C>::new_from_slices(key, iv)
        .expect("key length matches the cipher")
        .encrypt_padded_vec_mut::<Pkcs7>(plain)
}

fn dec<C>(key: &[u8], iv: &[u8; IV_LEN], cipher: &[u8]) -> Option<Vec<u8>>
where
    C: cbc::cipher::BlockCipher + cbc::cipher::BlockDecryptMut + cbc::cipher::KeyInit,
{
    let d = cbc::Decryptor::<C>::new_from_slices(key, iv).ok()?;
    d.decrypt_padded_vec_mut::<NoPadding>(cipher).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::hash::HashAlgo;

    #[test]
    fn aes_round_trip_all_sizes() {
        let kp = Digest::from32([0x5a; 32]);
        let iv = [3u8; 16];
        for algo in [
            CryptoAlgo::None,
            CryptoAlgo::Aes128,
            CryptoAlgo::Aes192,
            CryptoAlgo::Aes256,
        ] {
            for len in [0usize, 1, 15, 16, 17, 1000, 65_536] {
                let plain: Vec<u8> = (0..len).map(|i| (i * 13) as u8).collect();
                let unit = UnitData::Bytes(plain.clone().into());
                let body = seal(algo, &kp, &iv, &unit);
                assert_eq!(body.wire_len() as u32, algo.cipher_len(len as u32));
                if algo != CryptoAlgo::None && len > 0 {
                    assert!(matches!(&body, BlockBody::Bytes(c) if c[..] != plain[..]));
                }
                assert_eq!(open(algo, &kp, Some(&iv), &body, len as u32), Some(unit.clone()));
            }
        }
    }

    #[test]
    fn wrong_key_fails_the_hash_and_bad_lengths_fail_to_open() {
        let plain: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let expected = HashAlgo::Sha256.hash(&plain);
        let body = seal(
            CryptoAlgo::Aes128,
            &Digest::from32([1; 32]),
            &[0; 16],
            &UnitData::Bytes(plain.into()),
        );
        let wrong = open(
            CryptoAlgo::Aes128,
            &Digest::from32([2; 32]),
            Some(&[0; 16]),
            &body,
            5000,
        )
        .expect("decrypts");
        assert!(!wrong.verify(HashAlgo::Sha256, &expected, 5000));
        assert_eq!(
            open(CryptoAlgo::Aes128, &Digest::from32([1; 32]), None, &body, 5000),
            None
        );
        let odd = BlockBody::Bytes(vec![0u8; 17].into());
        assert_eq!(
            open(
                CryptoAlgo::Aes128,
                &Digest::from32([1; 32]),
                Some(&[0; 16]),
                &odd,
                10
            ),
            None
        );
        assert_eq!(
            open(CryptoAlgo::None, &Digest::from32([1; 32]), None, &odd, 18),
            None
        );
    }
}
