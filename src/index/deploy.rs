//! Deploy files: how a service starts (Dockerfile, entrypoint, compose,
//! Procfile). Their text tells whether the service applies its migrations.

/// Is this path a deploy file worth reading?
pub fn is_deploy_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    lower == "dockerfile"
        || lower.starts_with("dockerfile.")
        || lower.ends_with(".dockerfile")
        || matches!(
            lower.as_str(),
            "docker-compose.yml"
                | "docker-compose.yaml"
                | "compose.yml"
                | "compose.yaml"
                | "entrypoint.sh"
                | "docker-entrypoint.sh"
                | "procfile"
        )
        || (lower.ends_with(".sh") && path.contains("scripts/"))
}

/// The service directory a deploy file belongs to (`svc/scripts/x.sh`
/// belongs to `svc`).
pub fn service_dir_of(path: &str) -> String {
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let dir = match dir.rsplit_once('/') {
        Some((parent, "scripts")) => parent,
        None if dir == "scripts" => "",
        _ => dir,
    };
    dir.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploy_files_and_their_service() {
        assert!(is_deploy_file("services/mailer/Dockerfile"));
        assert!(is_deploy_file("svc/docker-entrypoint.sh"));
        assert!(is_deploy_file("svc/scripts/start.sh"));
        assert!(!is_deploy_file("svc/app/main.py"));
        assert_eq!(service_dir_of("svc/scripts/start.sh"), "svc");
        assert_eq!(service_dir_of("Dockerfile"), "");
        assert_eq!(service_dir_of("a/b/Dockerfile"), "a/b");
    }
}
