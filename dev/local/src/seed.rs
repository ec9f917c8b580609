//! The simulated world a newcomer starts in: two GitHub users, one of them
//! in an organisation with repositories, and two platform users in teams.

use github_sim::GitHubSim;

/// Platform users offered on the sign-in page, with their teams.
pub const PLATFORM_USERS: [(&str, &[&str]); 2] = [("alice", &["team-a", "team-b"]), ("bob", &["team-b"])];

pub fn github_world(sim: &GitHubSim) {
    sim.add_user("octocat");
    sim.add_user("hubot");
    sim.add_org("octo-org", &["octocat"]);
    sim.add_repo("octo-org", "web", false);
    sim.add_repo("octo-org", "api", true);
    sim.add_repo("octocat", "dotfiles", false);
}
