#![doc = include_str!("../README.md")]

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use wechat_callback::Engine;
use wechat_callback::adapter;

/// Mounts `engine` at `path` (every method; GET and POST are the callback's). Pass the result
/// to `App::configure` in the `HttpServer::new` factory; clone it per worker.
pub fn configure(
    path: impl Into<String>,
    engine: impl Into<Arc<Engine>>,
) -> impl Fn(&mut web::ServiceConfig) + Clone {
    let path = path.into();
    let engine: Arc<Engine> = engine.into();
    move |config: &mut web::ServiceConfig| {
        let engine = Arc::clone(&engine);
        config.service(web::resource(path.as_str()).default_service(web::to(
            move |request: HttpRequest, payload: web::Payload| {
                handle(Arc::clone(&engine), request, payload)
            },
        )));
    }
}

/// Answers one request: reads the body with the cap, then runs the engine. Use it as a
/// handler when [`configure`] does not fit your routing.
pub async fn handle(
    engine: Arc<Engine>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    if let Some(refused) = adapter::refuse_method(request.method().as_str()) {
        return convert(refused);
    }
    let content_length = request
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH);
    if let Some(refused) = adapter::refuse_oversized(&engine, content_length.map(|v| v.as_bytes()))
    {
        return convert(refused);
    }
    let limit = adapter::max_body_bytes(&engine);
    let read = payload.to_bytes_limited(limit);
    let body = match actix_web::rt::time::timeout(adapter::body_read_timeout(&engine), read).await {
        Err(_elapsed) => return convert(adapter::timed_out(&engine)),
        Ok(Ok(Ok(body))) => body,
        Ok(Ok(Err(error))) => return convert(adapter::bad_request(error)),
        Ok(Err(_too_large)) => return convert(adapter::too_large(&engine, limit as u64 + 1)),
    };
    // actix-web 4 is built on `http` 0.2: carry method and URI over as text.
    let request = match http::Request::builder()
        .method(request.method().as_str())
        .uri(request.uri().to_string())
        .body(body)
    {
        Ok(request) => request,
        Err(error) => return convert(adapter::bad_request(error)),
    };
    convert(adapter::handle(&engine, request, wechat_callback_tokio::runtime()).await)
}

fn convert(response: http::Response<Bytes>) -> HttpResponse {
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut out = HttpResponse::build(status);
    for (name, value) in response.headers() {
        out.insert_header((name.as_str(), value.as_bytes()));
    }
    out.body(response.into_body())
}
