"""`flask deploy nginx`: write the nginx configuration that fronts the app servers."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from ..prebuilt.copy import copy_link
from .nginx import Address, NginxSite, write_nginx

deploy_cli = AppGroup("deploy", help="Write the configuration of the servers around the app.")


class AddressType(click.ParamType):
    """A HOST:PORT on the command line."""

    name = "HOST:PORT"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> Address:
        """Parse HOST:PORT, or fail with the reason."""
        if isinstance(value, Address):
            return value
        try:
            return Address.parse(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


ADDRESS = AddressType()
FILE = click.Path(exists=True, dir_okay=False, resolve_path=True, path_type=Path)


@deploy_cli.command("nginx")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write nginx.conf, its pages and its working folders into.",
)
@click.option("--server-name", required=True, help="The site's host name, as in SITE_URL.")
@click.option("--https", "https", required=True, type=ADDRESS, help="Where to serve HTTPS.")
@click.option(
    "--http",
    "http",
    required=True,
    type=ADDRESS,
    help="Where to answer plain HTTP (with a redirect to HTTPS).",
)
@click.option(
    "--upstream",
    "upstreams",
    required=True,
    multiple=True,
    type=ADDRESS,
    help="An app server (gunicorn); repeat it for each one.",
)
@click.option("--cert", required=True, type=FILE, help="The certificate chain (PEM).")
@click.option("--key", required=True, type=FILE, help="The certificate's private key (PEM).")
@click.option(
    "--user",
    default=None,
    help="The account nginx's workers run as, when nginx is started as root.",
)
@click.option(
    "--group",
    default=None,
    help="The workers' group (with --user); by default the user's own primary group.",
)
def nginx_command(
    out: Path,
    server_name: str,
    https: Address,
    http: Address,
    upstreams: tuple[Address, ...],
    cert: Path,
    key: Path,
    user: str | None,
    group: str | None,
) -> None:
    """Write OUT/nginx.conf; run it with `nginx -c OUT/nginx.conf -p OUT -g 'daemon off;'`."""
    try:
        site = NginxSite(out.resolve(), server_name, https, http, upstreams, cert, key, user, group)
        config, copied = write_nginx(current_app._get_current_object(), site)  # type: ignore[attr-defined]  # a LocalProxy, typed as the app
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"wrote {config}")
    click.echo(
        f"copied {copied.pages} public pages for nginx to serve while no app server answers"
        f" ({copied.seconds} s): {copy_link(current_app)}"
    )
    for path in copied.skipped:
        click.echo(f"note: not copied (not a page the app answered 200): {path}", err=True)
    click.echo(f"check: nginx -t -c {config} -p {site.out}")
    click.echo(f"run:   nginx -c {config} -p {site.out} -g 'daemon off;'")
    public = site.public_url
    if current_app.config["SITE_URL"] != public:
        click.echo(f"note: SITE_URL is {current_app.config['SITE_URL']}, not {public}", err=True)
    if not current_app.config["TRUSTED_PROXIES"]:
        click.echo("note: set TRUSTED_PROXIES=1 on the app servers behind it", err=True)
