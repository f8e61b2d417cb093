//! One Chat Completions call with bounded retries (backon, through `concierge-retry`): 429 and
//! 5xx answers (and refused connections) are tried again after the wait the server asks for, or
//! an exponential backoff, never longer than the configured maximum.

use super::retry::{requested_wait, BASE_BACKOFF};
use crate::config::OpenAiConfig;
use crate::error::AiError;
use crate::redact::redact_secrets;
use crate::sentences::shorten;
use concierge_retry::Retryable;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// The parts of a chat completion that are used. Other fields are ignored, so providers that
/// add their own still work.
#[derive(Debug, Deserialize)]
struct Completion {
    #[serde(default)]
    model: Option<String>,
    choices: Vec<Choice>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: ChoiceMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

/// The assistant's answer.
#[derive(Debug)]
pub(crate) struct Answer {
    /// `choices[0].message.content`.
    pub content: String,
    /// The model that answered, when the server said.
    pub model: Option<String>,
}

/// A Chat Completions endpoint.
#[derive(Debug, Clone)]
pub(crate) struct ChatClient {
    http: reqwest::Client,
    endpoint: String,
    config: OpenAiConfig,
}

impl ChatClient {
    /// A client for `{base_url}/chat/completions`.
    pub(crate) fn new(config: OpenAiConfig) -> Result<Self, AiError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| AiError::Client(e.to_string()))?;
        let endpoint = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
        Ok(Self {
            http,
            endpoint,
            config,
        })
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    /// Sends `body` and returns the first choice's content, trying again when allowed.
    pub(crate) async fn complete(&self, body: &Value) -> Result<Answer, AiError> {
        let max_wait = self.config.max_retry_wait;
        let policy = concierge_retry::backoff(BASE_BACKOFF, max_wait, self.config.max_attempts);
        (|| self.attempt(body))
            .retry(policy)
            .when(|failed: &Failed| failed.retryable)
            .adjust(|failed, next| match (failed.asked, next) {
                (_, None) => None,
                (Some(asked), Some(_)) if asked > max_wait => {
                    tracing::warn!(
                        wait = ?asked,
                        "chat completion: server asks to wait longer than allowed"
                    );
                    None
                }
                (Some(asked), Some(_)) => Some(asked),
                (None, next) => next,
            })
            .notify(|failed, wait| {
                tracing::warn!(error = %failed.error, ?wait, "chat completion: trying again");
            })
            .await
            .map_err(|failed| failed.error)
    }

    /// One try.
    async fn attempt(&self, body: &Value) -> Result<Answer, Failed> {
        let mut request = self.http.post(&self.endpoint).json(body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) if err.is_timeout() => return Err(Failed::last(AiError::Timeout)),
            Err(err) => {
                return Err(Failed {
                    // A refused connection never reached the server: safe to repeat.
                    retryable: err.is_connect(),
                    error: AiError::Transport(shorten(&err.to_string(), 200)),
                    asked: None,
                });
            }
        };
        let status = response.status();
        if status.is_success() {
            let text = response.text().await.map_err(|e| {
                Failed::last(if e.is_timeout() {
                    AiError::Timeout
                } else {
                    AiError::Transport(shorten(&e.to_string(), 200))
                })
            })?;
            return first_choice(&text).map_err(Failed::last);
        }
        let asked = requested_wait(response.headers(), SystemTime::now());
        let detail = error_detail(response.text().await.unwrap_or_default());
        let error = if status == StatusCode::TOO_MANY_REQUESTS {
            AiError::RateLimited { retry_after: asked }
        } else {
            AiError::Status {
                status: status.as_u16(),
                detail,
            }
        };
        Err(Failed {
            error,
            retryable: status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error(),
            asked,
        })
    }
}

/// A failed try: the error, whether another try may help, and the wait the server asked for.
struct Failed {
    error: AiError,
    retryable: bool,
    asked: Option<Duration>,
}

impl Failed {
    fn last(error: AiError) -> Self {
        Self {
            error,
            retryable: false,
            asked: None,
        }
    }
}

fn first_choice(body: &str) -> Result<Answer, AiError> {
    let completion: Completion = serde_json::from_str(body)
        .map_err(|e| AiError::InvalidReply(format!("not a chat completion: {e}")))?;
    let choice = completion
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| AiError::InvalidReply("no choices".into()))?;
    if let Some(refusal) = choice.message.refusal.filter(|r| !r.trim().is_empty()) {
        return Err(AiError::Refused(shorten(&refusal, 200)));
    }
    if choice.finish_reason.as_deref() == Some("length") {
        return Err(AiError::InvalidReply(
            "the answer was cut at the length limit".into(),
        ));
    }
    let content = choice
        .message
        .content
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| AiError::InvalidReply("empty content".into()))?;
    Ok(Answer {
        content,
        model: completion.model,
    })
}

/// The server's error message (`{"error": {"message": ...}}` or the raw body), short and
/// without secrets.
fn error_detail(body: String) -> String {
    let message = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v.pointer("/error/message")?.as_str().map(str::to_string))
        .unwrap_or(body);
    shorten(&redact_secrets(message.trim()), 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_first_choice() {
        let answer = first_choice(
            r#"{"id":"x","model":"m-1","choices":[{"index":0,"message":{"role":"assistant","content":"{}"},"finish_reason":"stop"}]}"#,
        );
        assert!(answer.is_ok_and(|a| a.content == "{}" && a.model.as_deref() == Some("m-1")));
    }

    #[test]
    fn refusals_truncations_and_empty_answers_are_errors() {
        for body in [
            r#"{"choices":[{"message":{"content":null,"refusal":"I can't help"}}]}"#,
            r#"{"choices":[{"message":{"content":"{\"a\""},"finish_reason":"length"}]}"#,
            r#"{"choices":[{"message":{"content":""}}]}"#,
            r#"{"choices":[]}"#,
            "<html>",
        ] {
            assert!(first_choice(body).is_err(), "{body}");
        }
    }

    #[test]
    fn error_details_are_short_and_redacted() {
        let detail = error_detail(
            r#"{"error":{"message":"Incorrect API key provided: sk-abcdefghijklmnopqrstuvwxyz"}}"#
                .into(),
        );
        assert_eq!(detail, "Incorrect API key provided: [redacted]");
    }
}
