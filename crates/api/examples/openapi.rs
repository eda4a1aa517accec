//! Prints the API's OpenAPI document, as checked in:
//! `cargo run -p newspipe-api --example openapi > schemas/openapi.json`
fn main() {
    println!("{}", newspipe_api::v1::openapi_json());
}
