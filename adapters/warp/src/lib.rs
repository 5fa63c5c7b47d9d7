#![doc = include_str!("../README.md")]

use std::sync::Arc;

use bytes::{Buf, BufMut as _, Bytes, BytesMut};
use futures_util::{Stream, StreamExt as _};
use warp::Filter;
use wechat_callback::Engine;
use wechat_callback::adapter;

/// The engine as a filter: extracts the method, query and body and answers with the engine's
/// response. Never rejects.
pub fn filter(
    engine: impl Into<Arc<Engine>>,
) -> impl Filter<Extract = (http::Response<Bytes>,), Error = warp::Rejection> + Clone {
    let engine: Arc<Engine> = engine.into();
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::method()
        .and(query)
        .and(warp::header::optional::<String>("content-length"))
        .and(warp::body::stream())
        .then(move |method, query, length, body| {
            respond(Arc::clone(&engine), method, query, length, body)
        })
}

/// Reads the whole body, or answers 413 as soon as it passes the cap (400 if it breaks off).
async fn read<S, B>(engine: &Engine, body: S) -> Result<Bytes, http::Response<Bytes>>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let limit = adapter::max_body_bytes(engine);
    let mut buffer = BytesMut::new();
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(adapter::bad_request)?;
        if buffer.len() + chunk.remaining() > limit {
            return Err(adapter::too_large(
                engine,
                (buffer.len() + chunk.remaining()) as u64,
            ));
        }
        buffer.put(chunk);
    }
    Ok(buffer.freeze())
}

/// Answers one request: reads the body with the cap and the time limit, then runs the engine.
async fn respond<S, B>(
    engine: Arc<Engine>,
    method: http::Method,
    query: String,
    content_length: Option<String>,
    body: S,
) -> http::Response<Bytes>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    if let Some(refused) = adapter::refuse_method(method.as_str()) {
        return refused;
    }
    if let Some(refused) =
        adapter::refuse_oversized(&engine, content_length.as_deref().map(str::as_bytes))
    {
        return refused;
    }
    let read = read(&engine, body);
    let body = match tokio::time::timeout(adapter::body_read_timeout(&engine), read).await {
        Err(_elapsed) => return adapter::timed_out(&engine),
        Ok(Err(response)) => return response,
        Ok(Ok(body)) => body,
    };
    // The engine reads only the method, the query and the body.
    let uri = if query.is_empty() {
        "/".to_owned()
    } else {
        format!("/?{query}")
    };
    match http::Request::builder().method(method).uri(uri).body(body) {
        Ok(request) => adapter::handle(&engine, request, wechat_callback_tokio::runtime()).await,
        Err(error) => adapter::bad_request(error),
    }
}
