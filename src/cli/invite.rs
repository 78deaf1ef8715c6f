//! `invite resend`: a new invitation link for an invited user, printed alone on stdout (the old
//! link stops working). The host product also gets it in an `invitation.issued` event.

use clap::Subcommand;

use super::InvitationArgs;
use crate::clock::now_micros;
use crate::store::{Store, TokenPrefix};
use crate::tenant::invitations::{self, UserRef};
use crate::tenant::operators::AdminActor;

#[derive(Debug, Subcommand)]
pub enum InviteCommand {
    /// Issue an invited user a new invitation link and print it.
    Resend {
        #[arg(long)]
        tenant: String,
        /// The user's userName (any case).
        #[arg(long)]
        user: String,
        #[command(flatten)]
        invitations: InvitationArgs,
    },
}

pub async fn run(store: &Store, cmd: InviteCommand, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        InviteCommand::Resend {
            tenant,
            user,
            invitations,
        } => {
            // The command line acts with an operator's reach; audit events name it `operator:cli`.
            let actor = AdminActor::Operator {
                prefix: TokenPrefix::new("cli".to_string()),
            };
            let issued = invitations::resend(
                store,
                &actor,
                &tenant,
                UserRef::Name(&user),
                &invitations.policy(),
                now_micros(),
            )
            .await?;
            if as_json {
                println!(
                    "{}",
                    serde_json::json!({"link": issued.link, "expiresAt": super::time_text(Some(issued.expires_at))})
                );
            } else {
                println!("{}", issued.link);
            }
            Ok(())
        }
    }
}
