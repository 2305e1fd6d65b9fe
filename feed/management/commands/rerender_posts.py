from django.core.management.base import BaseCommand

from feed.models import Post
from feed.services import render_body


class Command(BaseCommand):
    help = "Render every post's Markdown again (after a renderer or allow-list change)."

    def handle(self, *args, **options):
        changed = 0
        for post in Post.objects.only("id", "body", "body_html").iterator(chunk_size=2000):
            html = render_body(post.body).html
            if html != post.body_html:
                Post.objects.filter(pk=post.pk).update(body_html=html)
                changed += 1
        self.stdout.write(f"{changed:,} post(s) re-rendered.")
