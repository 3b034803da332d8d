//! Signed subscription links: confirm, manage preferences, unsubscribe. A token names the
//! subscriber and what it may do, signed with HMAC-SHA256 under a key kept in the database
//! (made once, shared by every instance), so links need no stored state and cannot be forged
//! for another subscriber.

use herald_core::Id;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What a token allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Confirm,
    Manage,
}

impl Purpose {
    fn tag(self) -> &'static str {
        match self {
            Purpose::Confirm => "c",
            Purpose::Manage => "m",
        }
    }
}

/// The link-signing key.
#[derive(Clone)]
pub struct Keys {
    link: Vec<u8>,
}

fn mac(key: &[u8], data: &[u8]) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    hex::encode(m.finalize().into_bytes())
}

/// `sha256=<hex>`: the signature header of a webhook body under the subscriber's secret.
pub fn signature(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", mac(secret.as_bytes(), body))
}

impl Keys {
    /// Reads (or makes, on first use) the key from the store.
    pub async fn load(
        notifier: &super::Notifier,
        store: &dyn herald_store::Store,
    ) -> Result<Keys, herald_store::StoreError> {
        let secret = notifier
            .link_key
            .get_or_try_init(|| store.signing_key("subscription-links"))
            .await?;
        Ok(Keys {
            link: secret.as_bytes().to_vec(),
        })
    }

    pub fn token(&self, subscriber: &Id, purpose: Purpose) -> String {
        let data = format!("{subscriber}.{}", purpose.tag());
        let sig = mac(&self.link, data.as_bytes());
        format!("{data}.{}", &sig[..32])
    }

    /// The subscriber a token was made for, when it is genuine and for `purpose`.
    pub fn check(&self, token: &str, purpose: Purpose) -> Option<Id> {
        let mut parts = token.splitn(3, '.');
        let (sub, tag, sig) = (parts.next()?, parts.next()?, parts.next()?);
        if tag != purpose.tag() {
            return None;
        }
        let expected = mac(&self.link, format!("{sub}.{tag}").as_bytes());
        let same = sig.len() == 32
            && sig
                .bytes()
                .zip(expected[..32].bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        same.then(|| Id::parse(sub).ok()).flatten()
    }

    /// (unsubscribe, manage, confirm) links for a subscriber on the page at `base`.
    pub fn links(&self, base: &str, subscriber: &Id) -> (String, String, String) {
        let m = self.token(subscriber, Purpose::Manage);
        let c = self.token(subscriber, Purpose::Confirm);
        (
            format!("{base}/subscriptions/unsubscribe?token={m}"),
            format!("{base}/subscriptions/manage?token={m}"),
            format!("{base}/subscriptions/confirm?token={c}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_subscriber_and_purpose() {
        let k = Keys {
            link: b"secret".to_vec(),
        };
        let a = Id::derive("a");
        let t = k.token(&a, Purpose::Manage);
        assert_eq!(k.check(&t, Purpose::Manage), Some(a.clone()));
        assert_eq!(k.check(&t, Purpose::Confirm), None);
        let forged = t.replacen(a.as_str(), Id::derive("b").as_str(), 1);
        assert_eq!(k.check(&forged, Purpose::Manage), None);
        assert_eq!(k.check("garbage", Purpose::Manage), None);
        assert_eq!(k.check("a.m.", Purpose::Manage), None);
    }

    #[test]
    fn signatures_are_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            mac(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
