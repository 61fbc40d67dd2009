//! A real browser for the web GUI's tests: Debian's headless Chromium driven over WebDriver
//! (chromedriver, started by the test on a free port) with the `fantoccini` client.
//!
//! Everything runs in the namespace of the calling thread: chromedriver and Chromium are its
//! children, and the WebDriver client's sockets are made on a current-thread runtime
//! ([`block_on`]). A test that runs its service in a network namespace calls these helpers
//! from a thread inside it ([`crate::netns::in_netns`]), so the browser sees what a client on
//! that network sees. Only with the crate's `browser` feature.
//!
//! Waiting is bounded polling of the page itself ([`Browser::wait_text`]), as in [`crate::wait`];
//! a failed wait panics with the page's source. [`Browser::screenshot`] writes PNGs to
//! `<target dir>/screenshots/`.

use std::future::Future;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::process::Proc;
use crate::tempdir::TempDir;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The window's size: small enough for small screenshots, wide enough for the tables.
pub const WINDOW: (u32, u32) = (1024, 700);

/// How often a wait looks at the page again.
const EVERY: Duration = Duration::from_millis(25);

/// Whether Chromium and chromedriver are installed; when not, skip with what to install, or
/// fail under CI.
pub fn available() -> bool {
    crate::have(CHROMIUM, "chromium") && crate::have(CHROMEDRIVER, "chromium-driver")
}

/// Run `f` to completion on a current-thread runtime of this thread (so its sockets are made
/// in this thread's network namespace).
pub fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(f)
}

/// Where screenshots go: `<target dir>/screenshots` (the target directory the running test
/// was built in, so `CARGO_TARGET_DIR` is followed).
pub fn screenshot_dir() -> PathBuf {
    crate::bins::target_dir().join("screenshots")
}

/// A free TCP port on 127.0.0.1 (free when asked; chromedriver takes it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A chromedriver process, a fresh profile directory, and the WebDriver session.
#[derive(Debug)]
pub struct Browser {
    pub client: Client,
    driver: Proc,
    _profile: TempDir,
}

impl Browser {
    /// Start chromedriver and a headless Chromium session with a fresh profile.
    pub async fn start() -> Browser {
        let port = free_port();
        let driver = Proc::spawn(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .env_remove("http_proxy")
                .env_remove("https_proxy"),
        );
        driver.expect_line("started successfully", Duration::from_secs(30));
        let profile = TempDir::new("chromium-profile");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--password-store=basic",
            &format!("--window-size={},{}", WINDOW.0, WINDOW.1),
            &format!("--user-data-dir={}", profile.display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": CHROMIUM, "args": args }),
        );
        let client = connect(port, caps, &driver).await;
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Load `url` (waits for the page's load event).
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// The page's URL now.
    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// The page's HTML now (for failure messages).
    pub async fn source(&self) -> String {
        self.client.source().await.unwrap_or_default()
    }

    /// The first element matching the CSS selector, if there is one now.
    pub async fn try_find(&self, css: &str) -> Option<Element> {
        self.client.find(Locator::Css(css)).await.ok()
    }

    /// The first element matching `css`, waiting for it (at most `within`).
    pub async fn find(&self, css: &str, within: Duration) -> Element {
        let t0 = Instant::now();
        loop {
            if let Some(e) = self.try_find(css).await {
                return e;
            }
            if t0.elapsed() >= within {
                panic!(
                    "no {css} within {within:?} on {}:\n{}",
                    self.url().await,
                    self.source().await
                );
            }
            tokio::time::sleep(EVERY).await;
        }
    }

    /// The text of the first element matching `css`, if there is one now.
    pub async fn text(&self, css: &str) -> Option<String> {
        match self.try_find(css).await {
            Some(e) => e.text().await.ok(),
            None => None,
        }
    }

    /// Wait until the text of the first element matching `css` satisfies `ok` (at most
    /// `within`): the text and how long it took. Panics with the page otherwise.
    pub async fn wait_text(
        &self,
        css: &str,
        within: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> (String, Duration) {
        let t0 = Instant::now();
        loop {
            let now = self.text(css).await;
            if let Some(t) = now.as_deref().filter(|t| ok(t)) {
                return (t.to_owned(), t0.elapsed());
            }
            if t0.elapsed() >= within {
                panic!(
                    "{css} is {now:?} after {within:?} on {}:\n{}",
                    self.url().await,
                    self.source().await
                );
            }
            tokio::time::sleep(EVERY).await;
        }
    }

    /// Wait until the page's URL satisfies `ok` (at most `within`); the URL.
    pub async fn wait_url(&self, within: Duration, ok: impl Fn(&str) -> bool) -> String {
        let t0 = Instant::now();
        loop {
            let url = self.url().await;
            if ok(&url) {
                return url;
            }
            if t0.elapsed() >= within {
                panic!("at {url} after {within:?}:\n{}", self.source().await);
            }
            tokio::time::sleep(EVERY).await;
        }
    }

    /// Click the first element matching `css` (waiting for it).
    pub async fn click(&self, css: &str) {
        let e = self.find(css, Duration::from_secs(10)).await;
        e.click()
            .await
            .unwrap_or_else(|err| panic!("click {css}: {err}"));
    }

    /// Replace the value of the form field matching `css` with `value`.
    pub async fn fill(&self, css: &str, value: &str) {
        let e = self.find(css, Duration::from_secs(10)).await;
        // Set through the DOM: typing would be slow for long texts and `clear` fires no
        // input events some pages listen to.
        let arg = serde_json::to_value(&e).expect("an element reference");
        self.client
            .execute(
                "arguments[0].value = arguments[1]; \
                 arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
                vec![arg, value.into()],
            )
            .await
            .unwrap_or_else(|err| panic!("fill {css}: {err}"));
    }

    /// Scroll the first element matching `css` to the top of the window (for a screenshot).
    pub async fn scroll_to(&self, css: &str) {
        let e = self.find(css, Duration::from_secs(10)).await;
        let arg = serde_json::to_value(&e).expect("an element reference");
        self.client
            .execute("arguments[0].scrollIntoView(true);", vec![arg])
            .await
            .unwrap_or_else(|err| panic!("scroll to {css}: {err}"));
    }

    /// A screenshot of the window as `<screenshot dir>/<name>.png`; its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("the screenshot directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write a screenshot");
        path
    }

    /// chromedriver's output so far (for failure messages).
    pub fn driver_log(&self) -> String {
        self.driver.text()
    }

    /// End the session (Chromium exits); chromedriver is killed on drop.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// A WebDriver session on chromedriver at `port`, retried for a while: a loaded machine may
/// take seconds to start Chromium.
async fn connect(
    port: u16,
    caps: serde_json::Map<String, serde_json::Value>,
    driver: &Proc,
) -> Client {
    let url = format!("http://127.0.0.1:{port}");
    let t0 = Instant::now();
    loop {
        let got = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await;
        match got {
            Ok(c) => return c,
            Err(e) if t0.elapsed() > Duration::from_secs(60) => {
                panic!("no WebDriver session: {e}\n{}", driver.text())
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
