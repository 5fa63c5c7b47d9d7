//! Conditions that choose a handler beyond its kind: [`Matcher`].

use std::fmt;
use std::sync::Arc;

use crate::callback::Callback;
use crate::error::{Error, ErrorKind};

/// A condition on a callback that a handler registered with
/// [`Router::on_matching`](crate::Router::on_matching) (and the other `*_matching` and
/// `*_named` methods) needs to run; a handler whose matcher does not match is passed over
/// like one that declines, and the next one in registration order is tried.
///
/// The conditions are WxJava's router rules, composable:
///
/// | condition | matches when |
/// |---|---|
/// | [`Matcher::content`] / [`content_prefix`](Matcher::content_prefix) / [`content_regex`](Matcher::content_regex) | the text's `Content`, **trimmed** of leading and trailing whitespace (as WxJava compares it), equals / starts with / matches |
/// | [`Matcher::event_key`] / [`event_key_prefix`](Matcher::event_key_prefix) / [`event_key_regex`](Matcher::event_key_regex) | `EventKey`, as sent (not trimmed), equals / starts with / matches |
/// | [`Matcher::from_user`] / [`from_users`](Matcher::from_users) | `FromUserName` (the openid, or WeCom UserID) is one of these |
/// | [`Matcher::account`] | the engine's account id ([`Engine::with_account_id`](crate::Engine::with_account_id), the accounts file's `id`) |
/// | [`Matcher::agent_id`] | WeCom `AgentID` |
/// | [`Matcher::msg_type`] / [`event`](Matcher::event) / [`info_type`](Matcher::info_type) | `MsgType` / `Event` / `InfoType`, ASCII case-insensitively (WeChat mixes `SCAN` and `click`) |
/// | [`Matcher::when`] | a predicate over the whole [`Callback`] returns `true` |
///
/// combined with [`Matcher::and`], [`Matcher::or`] and `!` ([`std::ops::Not`]). A field the
/// callback does not have never matches (so `!Matcher::content("x")` matches an image).
/// Regular expressions use the `regex` crate and are compiled once, when the matcher is built:
/// a bad pattern is an error there, never at request time.
///
/// ```
/// use wechat_callback::Matcher;
/// let menu = Matcher::event_key_prefix("MENU_").and(!Matcher::from_user("oBlocked"));
/// let digits = Matcher::content_regex(r"^\d{6}$")?;
/// assert!(Matcher::content_regex("(").is_err());
/// # let _ = (menu, digits);
/// # Ok::<(), wechat_callback::Error>(())
/// ```
#[derive(Clone)]
pub struct Matcher(Arc<Condition>);

enum Condition {
    Content(Pattern),
    EventKey(Pattern),
    FromUser(Box<[Box<str>]>),
    Account(Box<str>),
    AgentId(Box<str>),
    MsgType(Box<str>),
    Event(Box<str>),
    InfoType(Box<str>),
    When(Box<dyn Fn(&Callback) -> bool + Send + Sync>),
    All(Matcher, Matcher),
    Either(Matcher, Matcher),
    Not(Matcher),
}

enum Pattern {
    Exact(Box<str>),
    Prefix(Box<str>),
    Regex(regex::Regex),
}

impl Pattern {
    fn regex(pattern: &str) -> Result<Self, Error> {
        regex::Regex::new(pattern)
            .map(Self::Regex)
            .map_err(|error| {
                Error::with_detail(
                    ErrorKind::Config,
                    "a matcher's regular expression does not compile",
                )
                .with_source(error)
            })
    }

    fn matches(&self, text: &str) -> bool {
        match self {
            Self::Exact(want) => text == &**want,
            Self::Prefix(prefix) => text.starts_with(&**prefix),
            Self::Regex(regex) => regex.is_match(text),
        }
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(text) => write!(f, "= {text:?}"),
            Self::Prefix(text) => write!(f, "starts with {text:?}"),
            Self::Regex(regex) => write!(f, "~ /{}/", regex.as_str()),
        }
    }
}

impl Matcher {
    fn new(condition: Condition) -> Self {
        Self(Arc::new(condition))
    }

    /// A text message whose `Content`, trimmed, is exactly `content`.
    pub fn content(content: impl Into<Box<str>>) -> Self {
        Self::new(Condition::Content(Pattern::Exact(content.into())))
    }

    /// A text message whose `Content`, trimmed, starts with `prefix`.
    pub fn content_prefix(prefix: impl Into<Box<str>>) -> Self {
        Self::new(Condition::Content(Pattern::Prefix(prefix.into())))
    }

    /// A text message whose `Content`, trimmed, matches the regular expression `pattern`
    /// (`regex` syntax; anchor it with `^…$` to match the whole text).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when `pattern` does not compile.
    pub fn content_regex(pattern: &str) -> Result<Self, Error> {
        Ok(Self::new(Condition::Content(Pattern::regex(pattern)?)))
    }

    /// A callback whose `EventKey` is exactly `key` (a menu `CLICK`, a `SCAN`, …).
    pub fn event_key(key: impl Into<Box<str>>) -> Self {
        Self::new(Condition::EventKey(Pattern::Exact(key.into())))
    }

    /// A callback whose `EventKey` starts with `prefix`.
    pub fn event_key_prefix(prefix: impl Into<Box<str>>) -> Self {
        Self::new(Condition::EventKey(Pattern::Prefix(prefix.into())))
    }

    /// A callback whose `EventKey` matches the regular expression `pattern`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when `pattern` does not compile.
    pub fn event_key_regex(pattern: &str) -> Result<Self, Error> {
        Ok(Self::new(Condition::EventKey(Pattern::regex(pattern)?)))
    }

    /// A callback from this sender (`FromUserName`: an openid, or a WeCom UserID).
    pub fn from_user(openid: impl Into<Box<str>>) -> Self {
        Self::from_users([openid])
    }

    /// A callback from any of these senders.
    pub fn from_users<I>(openids: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Box<str>>,
    {
        Self::new(Condition::FromUser(
            openids.into_iter().map(Into::into).collect(),
        ))
    }

    /// A callback to the account with this id ([`Callback::account_id`]), for handlers shared
    /// across the accounts of one file.
    pub fn account(id: impl Into<Box<str>>) -> Self {
        Self::new(Condition::Account(id.into()))
    }

    /// A WeCom callback for the application with this `AgentID`.
    pub fn agent_id(agent_id: impl Into<Box<str>>) -> Self {
        Self::new(Condition::AgentId(agent_id.into()))
    }

    /// A callback whose `MsgType` is `msg_type` (ASCII case-insensitive).
    pub fn msg_type(msg_type: impl Into<Box<str>>) -> Self {
        Self::new(Condition::MsgType(msg_type.into()))
    }

    /// An event whose `Event` is `event` (ASCII case-insensitive).
    pub fn event(event: impl Into<Box<str>>) -> Self {
        Self::new(Condition::Event(event.into()))
    }

    /// An `InfoType` push whose `InfoType` is `info_type` (ASCII case-insensitive).
    pub fn info_type(info_type: impl Into<Box<str>>) -> Self {
        Self::new(Condition::InfoType(info_type.into()))
    }

    /// A callback for which `predicate` returns `true`. It runs on every callback the
    /// handler's kind receives: keep it quick, and free of panics (one that panics is treated
    /// as a panicking handler: logged, answered `success`).
    pub fn when(predicate: impl Fn(&Callback) -> bool + Send + Sync + 'static) -> Self {
        Self::new(Condition::When(Box::new(predicate)))
    }

    /// Both this and `other`.
    #[must_use]
    pub fn and(self, other: Matcher) -> Self {
        Self::new(Condition::All(self, other))
    }

    /// This or `other`.
    #[must_use]
    pub fn or(self, other: Matcher) -> Self {
        Self::new(Condition::Either(self, other))
    }

    /// Whether `callback` meets this condition.
    pub fn matches(&self, callback: &Callback) -> bool {
        let head = callback.head();
        match &*self.0 {
            Condition::Content(pattern) => callback
                .fields()
                .child_text("Content")
                .filter(|_| head.msg_type.eq_ignore_ascii_case("text"))
                .is_some_and(|content| pattern.matches(content.trim())),
            Condition::EventKey(pattern) => callback
                .fields()
                .child_text("EventKey")
                .is_some_and(|key| pattern.matches(key)),
            Condition::FromUser(openids) => openids
                .iter()
                .any(|openid| **openid == *head.from_user_name),
            Condition::Account(id) => callback.account_id() == Some(&**id),
            Condition::AgentId(agent_id) => head.agent_id.as_deref() == Some(&**agent_id),
            Condition::MsgType(msg_type) => head.msg_type.eq_ignore_ascii_case(msg_type),
            Condition::Event(event) => head
                .event
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(event)),
            Condition::InfoType(info_type) => head
                .info_type
                .as_deref()
                .is_some_and(|i| i.eq_ignore_ascii_case(info_type)),
            Condition::When(predicate) => predicate(callback),
            Condition::All(a, b) => a.matches(callback) && b.matches(callback),
            Condition::Either(a, b) => a.matches(callback) || b.matches(callback),
            Condition::Not(inner) => !inner.matches(callback),
        }
    }
}

impl std::ops::Not for Matcher {
    type Output = Matcher;

    /// Every callback this does not match.
    fn not(self) -> Matcher {
        Matcher::new(Condition::Not(self))
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            Condition::Content(pattern) => write!(f, "Content {pattern:?}"),
            Condition::EventKey(pattern) => write!(f, "EventKey {pattern:?}"),
            Condition::FromUser(openids) => write!(f, "FromUserName in {openids:?}"),
            Condition::Account(id) => write!(f, "account = {id:?}"),
            Condition::AgentId(id) => write!(f, "AgentID = {id:?}"),
            Condition::MsgType(name) => write!(f, "MsgType = {name:?}"),
            Condition::Event(name) => write!(f, "Event = {name:?}"),
            Condition::InfoType(name) => write!(f, "InfoType = {name:?}"),
            Condition::When(_) => f.write_str("when(…)"),
            Condition::All(a, b) => write!(f, "({a:?} and {b:?})"),
            Condition::Either(a, b) => write!(f, "({a:?} or {b:?})"),
            Condition::Not(inner) => write!(f, "not {inner:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn callback(xml: &str) -> Callback {
        Callback::from_xml(xml).unwrap()
    }

    fn text(content: &str) -> Callback {
        callback(&format!(
            "<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName>\
             <CreateTime>1</CreateTime><MsgType>text</MsgType>\
             <Content><![CDATA[{content}]]></Content><MsgId>1</MsgId></xml>"
        ))
    }

    fn click(key: &str) -> Callback {
        callback(&format!(
            "<xml><ToUserName>gh</ToUserName><FromUserName>o2</FromUserName>\
             <CreateTime>1</CreateTime><MsgType>event</MsgType><Event>CLICK</Event>\
             <EventKey><![CDATA[{key}]]></EventKey><AgentID>1000002</AgentID></xml>"
        ))
    }

    #[test]
    fn content_is_trimmed_and_only_a_text_has_it() {
        let help = Matcher::content("help");
        assert!(help.matches(&text("help")));
        assert!(help.matches(&text("  help\n")));
        assert!(!help.matches(&text("help me")));
        assert!(!help.matches(&text("HELP")));
        assert!(Matcher::content_prefix("help").matches(&text(" help me")));
        let digits = Matcher::content_regex(r"^\d{3}$").unwrap();
        assert!(digits.matches(&text("123 ")));
        assert!(!digits.matches(&text("1234")));
        assert!(!help.matches(&click("help")));
        assert!((!help).matches(&click("help")));
    }

    #[test]
    fn event_keys_senders_agents_and_names() {
        let menu = Matcher::event_key_prefix("MENU_");
        assert!(menu.matches(&click("MENU_news")));
        assert!(
            !menu.matches(&click(" MENU_news")),
            "event keys are not trimmed"
        );
        assert!(!menu.matches(&text("MENU_news")));
        assert!(Matcher::event_key("MENU_news").matches(&click("MENU_news")));
        assert!(
            Matcher::event_key_regex("^MENU_[a-z]+$")
                .unwrap()
                .matches(&click("MENU_news"))
        );
        assert!(Matcher::from_users(["o9", "o2"]).matches(&click("k")));
        assert!(!Matcher::from_user("o9").matches(&click("k")));
        assert!(Matcher::agent_id("1000002").matches(&click("k")));
        assert!(!Matcher::agent_id("1000003").matches(&click("k")));
        assert!(Matcher::event("click").matches(&click("k")));
        assert!(Matcher::msg_type("EVENT").matches(&click("k")));
        assert!(!Matcher::info_type("suite_ticket").matches(&click("k")));
        assert!(!Matcher::account("shop").matches(&click("k")));
    }

    #[test]
    fn combinators_and_predicates() {
        let both = Matcher::event_key_prefix("MENU_").and(Matcher::from_user("o2"));
        assert!(both.matches(&click("MENU_a")));
        assert!(!both.matches(&click("X")));
        let either = Matcher::content("a").or(Matcher::event_key("b"));
        assert!(either.matches(&text("a")) && either.matches(&click("b")));
        assert!(!either.matches(&text("b")));
        let late = Matcher::when(|c| c.head().create_time > 0);
        assert!(late.matches(&text("x")));
        assert_eq!(
            format!("{:?}", both),
            r#"(EventKey starts with "MENU_" and FromUserName in ["o2"])"#
        );
    }

    #[test]
    fn a_bad_pattern_is_an_error_when_built() {
        let error = Matcher::content_regex("(unclosed").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);
        assert!(Matcher::event_key_regex("[").is_err());
    }
}
