//! `newspipe token`: the HTTP API's tokens: create (printed once, alone on standard output), list, revoke.

use newspipe_api::auth::{Scope, new_token};
use newspipe_db::Database;

use crate::common::{time, usage};
use crate::{Exit, Settings};

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  TOKEN=$(newspipe token create --name notebook --scope read)\n  \
    newspipe token create --name ingest --scope submit\n  newspipe token list\n  newspipe token revoke notebook\n\n\
    Scopes: read (search, read, status), submit (also submit jobs), admin (also the dead letters). The token \
    is shown once and only its digest is kept. A revoked token is refused from the next request on, by \
    every `newspipe serve`.")]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(clap::Subcommand)]
enum TokenCommand {
    /// Make a token and print it, alone, on standard output (notes go to standard error).
    Create {
        /// A unique name: letters, digits, `.`, `_` and `-`, up to 64.
        #[arg(long)]
        name: String,
        /// read, submit or admin.
        #[arg(long, value_parser = ["read", "submit", "admin"])]
        scope: String,
    },
    /// Every token: name, scope, prefix, when made and revoked (never the token itself).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by name.
    Revoke { name: String },
}

pub async fn run(settings: &Settings, args: TokenArgs) -> anyhow::Result<()> {
    let database = Database::connect(&settings.database).await?;
    database.migrate().await?;
    match args.command {
        TokenCommand::Create { name, scope } => {
            let valid_name = !name.is_empty()
                && name.len() <= 64
                && name.starts_with(|c: char| c.is_ascii_alphanumeric())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
            if !valid_name {
                return Err(usage(format!(
                    "token name `{name}`: use 1 to 64 letters, digits, `.`, `_` or `-`, starting with a letter or digit"
                )));
            }
            let scope = Scope::parse(&scope).expect("clap checked the scope");
            let token = new_token();
            if !database.create_token(&name, scope.as_str(), &token.prefix, &token.digest).await? {
                return Err(usage(format!(
                    "a token named `{name}` exists already (revoked tokens keep their names): choose another name"
                )));
            }
            eprintln!("token `{name}` ({} scope) made; it is shown once, keep it now:", scope.as_str());
            println!("{}", token.token);
            Ok(())
        }
        TokenCommand::List { json } => {
            let tokens = database.tokens().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
                return Ok(());
            }
            println!("{:<24} {:<7} {:<20} {:<21} REVOKED", "NAME", "SCOPE", "PREFIX", "CREATED");
            for token in &tokens {
                println!(
                    "{:<24} {:<7} {:<20} {:<21} {}",
                    token.name,
                    token.scope,
                    format!("np_{}", token.prefix),
                    time(&token.created_at),
                    token.revoked_at.as_ref().map(time).unwrap_or_else(|| "-".into())
                );
            }
            Ok(())
        }
        TokenCommand::Revoke { name } => {
            if database.revoke_token(&name).await? {
                eprintln!("token `{name}` revoked: every API server refuses it from its next request");
                Ok(())
            } else {
                Err(Exit {
                    code: 1,
                    message: format!("no live token is named `{name}` (see `newspipe token list`)"),
                }
                .into())
            }
        }
    }
}
