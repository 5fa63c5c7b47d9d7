//! The library behind `wxcb`, the wechat-callback command-line tool: recorded fixtures and
//! their replay (`fixture`, format in `fixture-format.md`), callbacks built as WeChat's
//! servers send them (`build`), WeChat simulated against a live endpoint (`simulate`), and the
//! HTTP client both use (`wire`). The integration tests drive adapters through it too.

pub mod build;
pub mod fixture;
pub mod simulate;
pub mod wire;
