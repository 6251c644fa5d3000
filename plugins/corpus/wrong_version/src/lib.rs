//! A component built against `bellwether:rules@9.9.0`, a version the host does not support.

wit_bindgen::generate!({
    inline: "
        package bellwether:rules@9.9.0;
        interface host {
            log: func(message: string);
        }
        world rule {
            import host;
            export metadata: func() -> string;
        }
    ",
});

struct Future;

impl Guest for Future {
    fn metadata() -> String {
        bellwether::rules::host::log("from the future");
        "from the future".into()
    }
}

export!(Future);
